/**
 * Attack: a swarm-key holder opens 24 push streams (3 connections × 8, the per-connection limit) to a real
 * `rr p2p-serve`, sends 15 MiB on each and never half-closes. Per-stream caps alone took the server from 95 to
 * 608 MB; the global request budget keeps it bounded. RSS is read from /proc, never timed.
 */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { multiaddr } from '@multiformats/multiaddr'
import type { Stream } from '@libp2p/interface'
import { entriesPushProtocol, syncPullProtocol, tombstonePushProtocol } from '../../src/protocol/constants.js'
import { device, type Device } from '../helpers/peers.js'
import { tempDir } from '../helpers/tmp.js'
import { seedDb, startPeer } from '../p2p/fixtures.js'

const KiB = 1024
const MiB = 1024 * KiB

function rssBytes (pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(match![1]) * 1024
}

/**
 * Devices A (serving with `rr p2p-serve`, `seed` done first) and B, and the server's RSS: before, and the peak
 * sampled every 100 ms until `peak()` is read last.
 */
async function servedAndWatched (t: ExecutionContext, seed: (a: Device) => Promise<void>): Promise<{ dir: string, swarm: string, b: Device, served: Awaited<ReturnType<Device['serve']>>, before: number, peak: () => number }> {
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  const a = device(t, dir, 'devA', swarm)
  const b = device(t, dir, 'devB', swarm)
  await seed(a)
  const served = await a.serve()
  const pid = served.child.pid!
  const before = rssBytes(pid)
  let peak = before
  const sample = (): void => { try { peak = Math.max(peak, rssBytes(pid)) } catch {} }
  const sampler = setInterval(sample, 100)
  t.teardown(() => clearInterval(sampler))
  return { dir, swarm, b, served, before, peak: () => { sample(); return peak } }
}

/**
 * `peers` attacker nodes (`name-0`, `name-1`, …), each with one connection to the server and `perPeer` streams of
 * `protocol` on it; `each` is given every stream as it opens (c: the peer, s: the stream on it). Returns the streams.
 */
async function openStreams (t: ExecutionContext, at: { dir: string, swarm: string, addr: string }, name: string, peers: number, perPeer: number, protocol: string, each: (stream: Stream, c: number, s: number) => unknown): Promise<Stream[]> {
  const streams: Stream[] = []
  for (let c = 0; c < peers; c++) {
    const peer = await startPeer(t, { dir: at.dir, swarmKeyPath: at.swarm, name: `${name}-${c}` })
    const connection = await peer.node.dial(multiaddr(at.addr))
    for (let s = 0; s < perPeer; s++) {
      const stream = await connection.newStream(protocol, { signal: AbortSignal.timeout(60_000) })
      streams.push(stream)
      await each(stream, c, s)
    }
  }
  return streams
}

/** Sends `total` bytes of a never-finished document, then holds the stream open. Resolves with the bytes sent. */
async function sendHalfOpen (stream: Stream, total: number): Promise<number> {
  const chunk = Buffer.alloc(256 * KiB, 0x20)
  let sent = 0
  try {
    while (sent < total) {
      if (!stream.send(chunk)) await stream.onDrain({ signal: AbortSignal.timeout(120_000) })
      sent += chunk.byteLength
    }
  } catch {}
  return sent
}

test('24 half-open 15 MiB push streams keep p2p-serve under 300 MB, and an honest sync still completes', async (t) => {
  let ids: string[] = []
  const { dir, swarm, b, served, before, peak: peakNow } = await servedAndWatched(t, async (a) => { ids = await a.record(2) })

  const sending: Array<Promise<number>> = []
  const streams = await openStreams(t, { dir, swarm, addr: served.addr }, 'mallory', 3, 8, entriesPushProtocol, (stream) => { sending.push(sendHalfOpen(stream, 15 * MiB)) })
  const sent = await Promise.all(sending)
  // Whatever the server still holds is held now; give it a moment to show in RSS.
  await new Promise((resolve) => setTimeout(resolve, 3000))
  const peak = peakNow()
  t.log(`p2p-serve RSS ${Math.round(before / MiB)} MB before, peak ${Math.round(peak / MiB)} MB; attacker sent ${Math.round(sent.reduce((x, y) => x + y, 0) / MiB)} MiB`)
  t.true(peak < 300 * MiB, `peak RSS ${Math.round(peak / MiB)} MB`)
  t.regex(served.output(), /refused entries-push from \w+: entries-push request: the server is holding \d+ MiB of requests, its limit is \d+ MiB; retry later/)
  for (const s of streams) s.abort(new Error('attacker done'))

  const result = await b.rr(['p2p-sync', '--peers', served.addr], { timeoutMs: 90_000 })
  t.is(result.code, 0, result.stderr)
  t.deepEqual(b.entryIds(), [...ids].sort())
})

/** Sends a whole document and reads the answer. */
async function exchange (stream: Stream, body: Buffer): Promise<string> {
  for (let o = 0; o < body.byteLength; o += 256 * KiB) {
    if (!stream.send(body.subarray(o, o + 256 * KiB))) await stream.onDrain({ signal: AbortSignal.timeout(120_000) })
  }
  await stream.close()
  const parts: Uint8Array[] = []
  for await (const part of stream) parts.push(part instanceof Uint8Array ? part : part.subarray())
  return Buffer.concat(parts).toString()
}

test('a push of 8 million junk items, or nested 8 million deep, is refused whole, with p2p-serve staying under 300 MB (they went to 4 GB and 961 MB)', async (t) => {
  let ids: string[] = []
  const { dir, swarm, b, served, before, peak: peakNow } = await servedAndWatched(t, async (a) => { ids = await a.record(2) })
  const attacker = await startPeer(t, { dir, swarmKeyPath: swarm, name: 'mallory' })
  const connection = await attacker.node.dial(multiaddr(served.addr))
  const junk = { body: `{"entries":[${'0,'.repeat(8_000_000)}0]}`, refused: /about 8000001 items, more than any message holds \(at most 200000 entries or tombstones\)/ }
  // Items padded with spaces, sparse in commas: 2 million empty objects parsed took p2p-serve to 363 MB.
  const padded = { body: `{"entries":[${'{}      ,'.repeat(1_500_000)}{}]}`, refused: /about 1500001 items, more than any message holds/ }
  const deep = { body: `{"entries":[${'['.repeat(8_000_000)}${']'.repeat(8_000_000)}]}`, refused: /nested deeper than 8 levels, more than any message holds/ }
  for (const { body, refused } of [junk, padded, deep]) {
    t.true(body.length < 16 * MiB)
    for (const protocol of [entriesPushProtocol, tombstonePushProtocol]) {
      const bytes = Buffer.from(protocol === entriesPushProtocol ? body : body.replace('"entries"', '"tombstones"'))
      const answer = await exchange(await connection.newStream(protocol, { signal: AbortSignal.timeout(60_000) }), bytes)
      t.regex(answer, refused, protocol)
    }
  }
  const peak = peakNow()
  t.log(`p2p-serve RSS ${Math.round(before / MiB)} MB before, peak ${Math.round(peak / MiB)} MB`)
  t.true(peak < 300 * MiB, `peak RSS ${Math.round(peak / MiB)} MB`)
  const result = await b.rr(['p2p-sync', '--peers', served.addr], { timeoutMs: 90_000 })
  t.is(result.code, 0, result.stderr)
  t.deepEqual(b.entryIds(), [...ids].sort())
})

/**
 * The answers count against the same budget as requests, from before they are made: a page is made to fit what is
 * left, and past it the request is refused as busy. Without that, nothing was refused and 48 such streams took
 * p2p-serve to 726 MB (96 to over 900 MB); with it about 480-570 MB whatever the number of streams (two exports at a
 * time, in the worker pool). The busy refusal is what fails without the budget; the RSS bound leaves room for load.
 */
test('48 pull streams that ask for 32 MiB answers and never read them are refused as busy past the budget, p2p-serve under 800 MB', async (t) => {
  // 600 commands of 60 KB: one pull answer is cut at the 32 MiB cap.
  const { dir, swarm, b, served, before, peak: peakNow } = await servedAndWatched(t, async (a) => { seedDb(a.dbPath, 600, { cmdBytes: 60_000, deviceId: 'devA' }) })
  const streams = await openStreams(t, { dir, swarm, addr: served.addr }, 'reader', 6, 8, syncPullProtocol, async (stream) => {
    stream.send(Buffer.from(JSON.stringify({ cursor: 0, limit: 100_000 })))
    await stream.close() // the request is whole; the answer is never read
  })
  // The server works on every request, holds what fits its budget and refuses the rest as busy.
  const deadline = Date.now() + 60_000
  while (!/the server is holding \d+ MiB of requests/.test(served.output()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200))
  await new Promise((resolve) => setTimeout(resolve, 3000))
  const peak = peakNow()
  t.log(`p2p-serve RSS ${Math.round(before / MiB)} MB before, peak ${Math.round(peak / MiB)} MB`)
  t.regex(served.output(), /refused sync-pull from \w+: sync-pull request: the server is holding \d+ MiB of requests, its limit is \d+ MiB; retry later/)
  t.true(peak < 800 * MiB, `peak RSS ${Math.round(peak / MiB)} MB`)
  for (const s of streams) s.abort(new Error('reader done'))
  const result = await b.rr(['p2p-sync', '--peers', served.addr], { timeoutMs: 90_000 })
  t.is(result.code, 0, result.stderr)
  t.is(b.entryIds().length, 600)
})

test('30 pulls of 1000 entries at once, as many peers\' rounds may overlap, are all answered: small pages never wait on the budget', async (t) => {
  const { dir, swarm, served } = await servedAndWatched(t, async (a) => { seedDb(a.dbPath, 3000, { deviceId: 'devA' }) })
  const asks: Array<Promise<string>> = []
  await openStreams(t, { dir, swarm, addr: served.addr }, 'puller', 5, 6, syncPullProtocol, (stream, _c, s) => { asks.push(exchange(stream, Buffer.from(JSON.stringify({ cursor: s * 100, limit: 1000 })))) })
  const answers = await Promise.all(asks)
  const pages = answers.map((a) => JSON.parse(a) as { entries?: unknown[], error?: string })
  t.deepEqual(pages.filter((p) => p.error != null).map((p) => p.error), [], 'no pull was refused')
  t.true(pages.every((p) => p.entries?.length === 1000))
  t.notRegex(served.output(), /busy|holding \d+ MiB/)
})
