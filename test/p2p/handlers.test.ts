import { join } from 'node:path'
import type { Connection } from '@libp2p/interface'
import test from 'ava'
import { dialDirect, P2PTransport } from '../../src/p2p/index.js'
import { entriesPushProtocol, maxPullRequestBytes, maxPushRequestBytes, syncPullProtocol } from '../../src/protocol/constants.js'
import { openDatabase } from '../../src/store/db.js'
import { tempDir } from '../helpers/tmp.js'
import { makeEntry, seedDb, startPeer } from './fixtures.js'

/** Writes raw bytes on a new stream (reading concurrently) and returns the answer as text. */
async function rawExchange (connection: Connection, protocol: string, bytes: Uint8Array, options: { close?: boolean } = {}): Promise<string> {
  const stream = await connection.newStream(protocol, { runOnLimitedConnection: true })
  const chunks: Uint8Array[] = []
  const reading = (async () => {
    for await (const chunk of stream) chunks.push(chunk instanceof Uint8Array ? chunk : chunk.subarray())
  })()
  try {
    for (let i = 0; i < bytes.byteLength; i += 64 * 1024) {
      if (!stream.send(bytes.subarray(i, i + 64 * 1024))) await stream.onDrain()
    }
    if (options.close !== false) await stream.close()
  } catch {
    // The server may stop reading and reset after answering; the answer is what matters.
  }
  await reading.catch(() => {})
  return Buffer.concat(chunks).toString('utf8')
}

async function servingPair (t: Parameters<typeof tempDir>[0], entries: number, serve = {}) {
  const dir = tempDir(t)
  const dbPath = join(dir, 'a.db')
  const ids = seedDb(dbPath, entries)
  const swarmKeyPath = join(dir, 'swarm.key')
  const server = await startPeer(t, { dir, swarmKeyPath, dbPath, name: 'a', serve })
  const client = await startPeer(t, { dir, swarmKeyPath, name: 'b' })
  const { transport, connection } = await dialDirect(client.node, server.addr)
  return { dir, dbPath, ids, server, client, transport, connection }
}

function decode (bytes: Uint8Array): { entries: Array<{ entry_id: string }>, next_cursor: number | null } {
  return JSON.parse(Buffer.from(bytes).toString('utf8'))
}

test('pull pages through the served history in order until the batch is empty', async (t) => {
  const { ids, transport, server } = await servingPair(t, 2500)
  t.is(transport.peerId, server.peerId)
  t.is(transport.path, 'direct')
  const seen: string[] = []
  let cursor = 0
  const sizes: number[] = []
  for (;;) {
    const batch = decode(await transport.pull({ cursor, limit: 1000 }))
    sizes.push(batch.entries.length)
    if (batch.entries.length === 0) {
      t.is(batch.next_cursor, null)
      break
    }
    seen.push(...batch.entries.map((e) => e.entry_id))
    cursor = batch.next_cursor!
  }
  t.deepEqual(sizes, [1000, 1000, 500, 0])
  t.deepEqual(seen, ids)
})

test('a push stores the valid entries and lists the rejected ones with their index and reason', async (t) => {
  const { transport, dbPath, server, client } = await servingPair(t, 1)
  const good = [makeEntry(1, { device_id: 'device-b' }), makeEntry(2, { device_id: 'device-b' })]
  const entries = [good[0], { ...makeEntry(3), entry_id: 'not-a-uuid' }, good[1], { ...makeEntry(4), exit_code: 1.5 }]
  const ack = await transport.push(Buffer.from(JSON.stringify({ entries })))
  t.false(ack.ok)
  t.is(ack.inserted, 2)
  t.is(ack.ignored, 0)
  t.deepEqual(ack.rejected?.map((r) => r.index), [1, 3])
  t.true(ack.rejected!.every((r) => r.reason.length > 0))
  const again = await transport.push(Buffer.from(JSON.stringify({ entries: good })))
  t.deepEqual({ ok: again.ok, inserted: again.inserted, ignored: again.ignored }, { ok: true, inserted: 0, ignored: 2 })
  // The serving side says what the push stored, once: the second push stored nothing and says nothing.
  t.deepEqual(server.logs.filter((l) => l.startsWith('received:')), [`received: peer=${client.node.peerId.toString()} pushed entries inserted=2 ignored=0`])
  const db = openDatabase(dbPath)
  t.teardown(() => db.close())
  const stored = db.prepare('SELECT entry_id FROM entries WHERE device_id = ?').all('device-b') as Array<{ entry_id: string }>
  t.deepEqual(stored.map((r) => r.entry_id).sort(), good.map((e) => e.entry_id).sort())
})

test('an oversized pull request gets an error document and the server keeps serving normal clients', async (t) => {
  const { connection, transport, server, client } = await servingPair(t, 10)
  const huge = Buffer.from(JSON.stringify({ cursor: 0, limit: 10, pad: 'x'.repeat(maxPullRequestBytes) }))
  const answer = JSON.parse(await rawExchange(connection, syncPullProtocol, huge))
  t.is(answer.code, 'too_large')
  t.regex(answer.error, /too large/)
  t.true(server.logs.some((l) => l.includes('refused sync-pull')))
  t.is(decode(await transport.pull({ cursor: 0, limit: 5 })).entries.length, 5)
  const fresh = await dialDirect(client.node, server.addr)
  t.is(decode(await fresh.transport.pull({ cursor: 5, limit: 100 })).entries.length, 5)
})

test('an oversized push request gets an error document; the transport refuses one before sending it', async (t) => {
  const { connection, transport } = await servingPair(t, 1)
  const huge = Buffer.alloc(maxPushRequestBytes + 1024, 0x20)
  const answer = JSON.parse(await rawExchange(connection, entriesPushProtocol, huge))
  t.is(answer.code, 'too_large')
  await t.throwsAsync(transport.push(huge), { name: 'MessageTooLargeError' })
  const ack = await transport.push(Buffer.from(JSON.stringify({ entries: [makeEntry(9)] })))
  t.is(ack.inserted, 1)
})

test('malformed JSON or wrong types get an error document and a ProtocolError on the client', async (t) => {
  const { connection, transport, server } = await servingPair(t, 3)
  for (const body of ['{"cursor": 0, "limit": ', '{"cursor": "zero", "limit": 10}', '[1,2,3]', '\xff\xfe']) {
    const answer = JSON.parse(await rawExchange(connection, syncPullProtocol, Buffer.from(body, 'latin1')))
    t.is(answer.code, 'malformed', body)
    t.is(typeof answer.error, 'string')
  }
  const pushAnswer = JSON.parse(await rawExchange(connection, entriesPushProtocol, Buffer.from('{"entries": nope}')))
  t.is(pushAnswer.code, 'malformed')
  await t.throwsAsync(transport.push(Buffer.from('{"entries": 5}')), { name: 'ProtocolError', message: /entries must be an array/ })
  await t.throwsAsync(transport.pull({ cursor: -1, limit: 10 }), { name: 'ProtocolError', message: /cursor/ })
  // Seven refusals of two kinds (malformed sync-pull, malformed entries-push) from one peer: a line for each kind.
  const refusedLines = server.logs.filter((l) => l.includes('refused'))
  t.is(refusedLines.length, 2, refusedLines.join('\n'))
  t.truthy(refusedLines.find((l) => l.startsWith('p2p: refused sync-pull from')))
  t.truthy(refusedLines.find((l) => l.startsWith('p2p: refused entries-push from')))
  t.is(decode(await transport.pull({ cursor: 0, limit: 10 })).entries.length, 3)
})

test('a key holder refused on stream after stream is logged once per kind, and counted: not a line per stream', async (t) => {
  // A window no load can end before the test does.
  const { connection, transport, server, client } = await servingPair(t, 3, { logWindowMs: 10 * 60_000 })
  const peer = client.node.peerId.toString()
  const streams = 300
  const answers: string[] = []
  for (let sent = 0; sent < streams; sent += 6) {
    answers.push(...await Promise.all(Array.from({ length: 6 }, async () => await rawExchange(connection, syncPullProtocol, Buffer.from('{"cursor": "zero", "limit": 10}')))))
  }
  // Every stream is still answered with its refusal.
  t.is(answers.filter((a) => (JSON.parse(a) as { code?: string }).code === 'malformed').length, answers.length)
  const oversized = JSON.parse(await rawExchange(connection, syncPullProtocol, Buffer.from(JSON.stringify({ cursor: 0, limit: 10, pad: 'x'.repeat(maxPullRequestBytes) }))))
  t.is(oversized.code, 'too_large')
  // One line for the 300 malformed requests, one for the oversized one (another kind of refusal).
  const lines = server.logs.filter((l) => l.startsWith(`p2p: refused sync-pull from ${peer}`))
  t.is(lines.length, 2, lines.slice(0, 5).join('\n'))
  t.regex(lines[0]!, /SyncPull: cursor/)
  t.regex(lines[1]!, /too large/)
  t.is(decode(await transport.pull({ cursor: 0, limit: 10 })).entries.length, 3)
  // The count is told when the window ends, or when the server stops.
  await server.stop()
  t.true(server.logs.some((l) => l.startsWith(`p2p: refused sync-pull from ${peer}`) && l.endsWith(`(and ${streams - 1} more like it within 600 s)`)), server.logs.join('\n'))
})

test('a peer that trickles its request is cut off at the deadline and does not hold the stream', async (t) => {
  const { connection, transport, server } = await servingPair(t, 2, { pullRequestTimeoutMs: 1500 })
  const started = Date.now()
  const stream = await connection.newStream(syncPullProtocol)
  const reading = (async () => {
    for await (const _ of stream) { /* nothing comes */ }
  })()
  // 30 s of trickling: a deadline that each byte pushed back (an idle timeout) would end it only after ≥ 31.5 s.
  let cutOff = false
  const trickling = (async () => {
    for (let i = 0; i < 300 && !cutOff; i++) {
      stream.send(Buffer.from(' '))
      await new Promise((resolve) => setTimeout(resolve, 100))
    }
  })()
  await t.throwsAsync(Promise.all([reading, trickling]))
  cutOff = true
  const elapsed = Date.now() - started
  t.true(elapsed >= 1400 && elapsed < 15_000, `cut off after ${elapsed} ms`)
  t.true(server.logs.some((l) => /sync-pull with .* failed/.test(l)))
  t.is(decode(await transport.pull({ cursor: 0, limit: 10 })).entries.length, 2)
})

test('a wrong swarm key fails within seconds as a permanent SwarmKeyMismatchError', async (t) => {
  const dir = tempDir(t)
  const dbPath = join(dir, 'a.db')
  seedDb(dbPath, 1)
  const server = await startPeer(t, { dir, swarmKeyPath: join(dir, 'swarm-a.key'), dbPath, name: 'a' })
  const stranger = await startPeer(t, { dir, swarmKeyPath: join(dir, 'swarm-b.key'), name: 'b', dialTimeoutMs: 5000 })
  await Promise.all([0, 1, 2].map(async () => {
    const started = Date.now()
    const err = await t.throwsAsync(dialDirect(stranger.node, server.addr, { timeoutMs: 20_000 }), { name: 'SwarmKeyMismatchError', message: /swarm keys likely differ/ })
    t.true((err as { permanent?: boolean }).permanent)
    // Well below the dial's own 20 s timeout: the failed handshake is recognized, not waited out.
    t.true(Date.now() - started < 15_000, `took ${Date.now() - started} ms`)
  }))
})

test('dial errors say what is wrong: no /p2p/ part, a different peer, nothing listening', async (t) => {
  const { server, client } = await servingPair(t, 1)
  const noId = server.addr.replace(/\/p2p\/.*/, '')
  await t.throwsAsync(dialDirect(client.node, noId), { name: 'DialError', message: /no \/p2p\/<peer_id>/ })
  const other = await startPeer(t, { dir: tempDir(t), swarmKeyPath: join(tempDir(t), 'x.key'), name: 'other' })
  const wrongPeer = `${noId}/p2p/${other.peerId}`
  const err = await t.throwsAsync(dialDirect(client.node, wrongPeer), { name: 'DialError', message: /different peer/ })
  t.true((err as { permanent?: boolean }).permanent)
  // (A peer we are already connected to would be reached over the open connection, whatever the address.)
  const refused = await t.throwsAsync(dialDirect(client.node, `/ip4/127.0.0.1/tcp/1/p2p/${other.peerId}`), { name: 'DialError', message: /ECONNREFUSED/ })
  t.false((refused as { permanent?: boolean }).permanent)
})

test('P2PTransport works over a connection the caller already has', async (t) => {
  const { connection } = await servingPair(t, 4)
  const transport = new P2PTransport(connection)
  t.is(decode(await transport.pull({ cursor: 0, limit: 100 })).entries.length, 4)
  await transport.close()
  t.not(connection.status, 'open')
})
