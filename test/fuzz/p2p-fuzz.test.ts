/**
 * Fuzzing the libp2p sync protocols of a real `rr p2p-serve`: a client inside the private network opens
 * /rustory/sync-pull/1.0.0 and /rustory/entries-push/1.0.0 and sends generated hostile requests (whole, in pieces,
 * or reset mid-message) while slow-loris streams dribble bytes. The server must answer with an error or close,
 * keep serving a normal client, keep its memory bounded, and store no invalid entry.
 * RUSTORY_FUZZ_CASES raises the number of cases (long mode); RUSTORY_FUZZ_SEED replays a run.
 */
import '../../src/polyfill.js'
import test from 'ava'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import type { Connection, Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import type { Entry } from '../../src/core/entry.js'
import { loadOrCreateSwarmKey } from '../../src/config/keys.js'
import { createPeerNode, P2PTransport, type PeerNode } from '../../src/p2p/index.js'
import { entriesPushProtocol, maxPullRequestBytes, maxPushRequestBytes, syncPullProtocol } from '../../src/protocol/constants.js'
import { readAllCapped } from '../../src/protocol/framing.js'
import { encodeMessage } from '../../src/protocol/messages.js'
import { Device, freePorts, prng, sleep, writeSwarmKey } from '../helpers/cluster.js'
import { tempDir } from '../helpers/tmp.js'
import { assertStoredEntriesValid, generateCase, validEntry, type FuzzCase, MiB } from './cases.js'

const cases = Number(process.env.RUSTORY_FUZZ_CASES ?? 600)
const seed = Number(process.env.RUSTORY_FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31))
const rssBoundKiB = 600 * 1024

function rssKiB (pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m == null ? 0 : Number(m[1])
}

type Outcome = 'answered-error' | 'answered' | 'closed' | 'reset-by-us'

/** Sends one case on a fresh stream and waits (bounded) for the server's answer or for it to close the stream. */
async function deliver (connection: Connection, protocol: string, c: FuzzCase, random: () => number): Promise<{ outcome: Outcome, answer?: unknown }> {
  const stream: Stream = await connection.newStream(protocol, { signal: AbortSignal.timeout(10_000) })
  const reading = readAllCapped(stream, MiB, 'answer').then((b) => ({ bytes: b }), (err: Error) => ({ err }))
  try {
    if (c.delivery === 'reset') {
      const cut = Math.floor(random() * c.bytes.byteLength)
      stream.send(c.bytes.subarray(0, cut))
      await sleep(random() * 20)
      stream.abort(new Error('fuzz: reset mid-message'))
      await reading
      return { outcome: 'reset-by-us' }
    }
    let offset = 0
    while (offset < c.bytes.byteLength) {
      const size = c.delivery === 'chunked' ? 1 + Math.floor(random() * 64) : 256 * 1024
      if (!stream.send(c.bytes.subarray(offset, offset + size))) await stream.onDrain({ signal: AbortSignal.timeout(15_000) })
      offset += size
    }
    await stream.close({ signal: AbortSignal.timeout(15_000) })
  } catch {
    // The server may refuse and reset while we are still writing (oversized requests): that is a valid outcome.
  }
  const result = await Promise.race([reading, sleep(20_000).then(() => ({ timeout: true as const }))])
  if ('timeout' in result) {
    stream.abort(new Error('fuzz: no answer'))
    throw new Error(`server neither answered nor closed within 20 s (case ${c.kind}, ${c.delivery})`)
  }
  if ('err' in result || result.bytes.byteLength === 0) return { outcome: 'closed' }
  const answer: unknown = JSON.parse(Buffer.from(result.bytes).toString('utf8'))
  return { outcome: typeof (answer as { error?: unknown }).error === 'string' ? 'answered-error' : 'answered', answer }
}

async function startClient (psk: Uint8Array): Promise<PeerNode> {
  return await createPeerNode({ privateKey: await generateKeyPair('Ed25519'), psk, listen: [] })
}

test('the libp2p pull and push handlers survive thousands of hostile requests and store no invalid entry', async (t) => {
  t.timeout(240_000)
  t.log(`seed ${seed}, ${cases} cases (replay: RUSTORY_FUZZ_SEED=${seed})`)
  const random = prng(seed)
  const root = tempDir(t, 'rustory-fuzz-p2p-')
  const swarmKeyPath = join(root, 'swarm.key')
  writeSwarmKey(swarmKeyPath)
  const [port] = await freePorts(1)
  const server = new Device(0, root, port!, swarmKeyPath)
  server.seed(100, prng(seed + 1))
  t.teardown(async () => await server.stopAll())
  await server.startServe(90_000)
  const pid = server.serve!.child.pid!
  const psk = loadOrCreateSwarmKey(swarmKeyPath).psk
  const client = await startClient(psk)
  const loris = await startClient(psk)
  t.teardown(async () => { await client.stop(); await loris.stop() })
  const addr = multiaddr(server.addr!)

  // Slow-loris writers on their own connection: one byte a second, never finishing their request.
  const lorisConnection = await loris.dial(addr)
  const lorisStarted = Date.now()
  const lorisStreams = await Promise.all(Array.from({ length: 6 }, async (_, i) => await lorisConnection.newStream(i % 2 === 0 ? syncPullProtocol : entriesPushProtocol)))
  const lorisCut = lorisStreams.map(async (stream) => {
    const payload = Buffer.from('{"cursor":0,"limit":1}'.repeat(10))
    for (let k = 0; k < 45; k++) {
      if (stream.status !== 'open' || stream.writeStatus !== 'writable') return Date.now() - lorisStarted
      try { stream.send(payload.subarray(k % payload.length, (k % payload.length) + 1)) } catch { return Date.now() - lorisStarted }
      await sleep(1000)
    }
    return Number.POSITIVE_INFINITY
  })

  let connection = await client.dial(addr)
  const counts = new Map<string, number>()
  let baseline = rssKiB(pid)
  let maxRss = baseline
  let pushedValid = 0
  for (let i = 0; i < cases; i++) {
    const target = random() < 0.5 ? 'pull' as const : 'push' as const
    const c = generateCase(random, i, { target, capBytes: target === 'pull' ? maxPullRequestBytes : maxPushRequestBytes })
    if (connection.status !== 'open') connection = await client.dial(addr)
    const { outcome } = await deliver(connection, target === 'pull' ? syncPullProtocol : entriesPushProtocol, c, random)
    const key = `${target}/${c.kind}/${outcome}`
    counts.set(key, (counts.get(key) ?? 0) + 1)
    if (i === 20) baseline = rssKiB(pid)
    if (i % 50 === 49) {
      // A normal client is still served: a real pull and a real push.
      if (connection.status !== 'open') connection = await client.dial(addr)
      const transport = new P2PTransport(connection)
      const batch = JSON.parse(Buffer.from(await transport.pull({ cursor: 0, limit: 5 })).toString('utf8')) as { entries: Entry[] }
      t.is(batch.entries.length, 5, `a normal pull after case ${i}`)
      const ack = await transport.push(encodeMessage({ entries: [validEntry(random, 1_000_000 + i)] }))
      t.true(ack.ok && ack.inserted === 1, `a normal push after case ${i}: ${JSON.stringify(ack)}`)
      pushedValid++
      maxRss = Math.max(maxRss, rssKiB(pid))
      t.true(server.isServeUp(), `p2p-serve still runs after case ${i}`)
    }
  }
  maxRss = Math.max(maxRss, rssKiB(pid))
  t.log(`outcomes: ${JSON.stringify(Object.fromEntries([...counts].sort()))}`)
  t.log(`server RSS: ${Math.round(baseline / 1024)} MiB after warm-up, max ${Math.round(maxRss / 1024)} MiB`)
  t.true(maxRss < rssBoundKiB, `server RSS ${maxRss} KiB stays under ${rssBoundKiB} KiB`)

  // The slow-loris streams are cut by the server's request deadline (30 s for a pull, 2 min for a push).
  const cutAfter = await Promise.all(lorisCut.slice(0, 6).filter((_, i) => i % 2 === 0))
  t.log(`slow-loris pull streams cut after ${cutAfter.map((ms) => `${Math.round(ms / 1000)} s`).join(', ')}`)
  for (const ms of cutAfter) t.true(ms < 50_000, `a slow-loris pull stream was cut after ${ms} ms`)
  for (const s of lorisStreams) s.abort(new Error('done'))

  await server.stopAll()
  assertStoredEntriesValid(t, server.dbPath, 100 + pushedValid)
})
