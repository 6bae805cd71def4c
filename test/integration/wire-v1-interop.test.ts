/**
 * Devices on today's release speak only the 1.0.0 protocols; they must still sync with one that speaks 2.0.0.
 * "1.0.0-only" peers here are the real server and transport with only the 1.0.0 protocol ids registered/offered
 * (serveSync's and dialDirect's wireVersions: [1]), which is what a release from before signed entries runs.
 */
import { join } from 'node:path'
import test from 'ava'
import { entryFields, type Entry } from '../../src/core/entry.js'
import { dialDirect } from '../../src/p2p/index.js'
import { entriesPushProtocol, syncPullProtocol } from '../../src/protocol/constants.js'
import { decodeJson, encodeMessage, parseSyncBatch } from '../../src/protocol/messages.js'
import { device } from '../helpers/peers.js'
import { tempDir } from '../helpers/tmp.js'
import { makeEntry, seedDb, startPeer } from '../p2p/fixtures.js'
import { rowOriginSql } from '../../src/store/wire-id.js'

test('a new device syncs both ways with a peer that speaks only 1.0.0; what it gets from it is unverified', async (t) => {
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  const oldDb = join(dir, 'old.db')
  const oldIds = seedDb(oldDb, 30, { deviceId: 'old-device' })
  const old = await startPeer(t, { dir, swarmKeyPath: swarm, dbPath: oldDb, name: 'old', serve: { wireVersions: [1] } })
  t.deepEqual(old.node.getProtocols().filter((p) => p.startsWith('/rustory/')).sort(), [entriesPushProtocol, syncPullProtocol].sort())
  const b = device(t, dir, 'devB', swarm)
  const mine = await b.record(3)
  const sync = await b.rr(['p2p-sync', '--peers', old.addr, '--push'])
  t.is(sync.code, 0, sync.stderr)
  t.regex(sync.stdout, /pulled=30 inserted=30 pushed=3/)
  const rows = b.query<{ entry_id: string, origin: string, trust: number }>(`SELECT entry_id, ${rowOriginSql()} AS origin, trust FROM entries`)
  const fromOld = rows.filter((r) => oldIds.includes(r.entry_id))
  t.is(fromOld.length, 30)
  t.true(fromOld.every((r) => r.origin === '' && r.trust === 0), 'entries received over 1.0.0 are unverified')
  // What B pushed (signed, in the 2.0.0 form) was read by the 1.0.0 server as plain entries.
  const { default: Database } = await import('better-sqlite3')
  const db = new Database(oldDb, { readonly: true })
  t.teardown(() => db.close())
  const pushed = db.prepare(`SELECT entry_id, trust FROM entries WHERE entry_id IN (${mine.map(() => '?').join(',')})`).all(...mine) as Array<{ trust: number }>
  t.is(pushed.length, 3)
  t.true(pushed.every((r) => r.trust === 0))
})

test('a 1.0.0-only client pulls the 1.0.0 fields exactly and pushes into a 2.0.0 server, unverified', async (t) => {
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  const a = device(t, dir, 'devA', swarm)
  await a.record(4)
  const served = await a.serve()
  const client = await startPeer(t, { dir, swarmKeyPath: swarm, name: 'old-client' })
  const { transport } = await dialDirect(client.node, served.addr, { wireVersions: [1], timeoutMs: 30_000 })
  t.teardown(async () => await transport.close())
  const batch = decodeJson(await transport.pull({ cursor: 0, limit: 100 }), 'SyncBatch') as { entries: Array<Record<string, unknown>> }
  t.is(transport.wire, 1)
  t.is(batch.entries.length, 4)
  for (const e of batch.entries) t.deepEqual(Object.keys(e), [...entryFields])
  const theirs: Entry[] = [makeEntry(1, { device_id: 'old-device' }), makeEntry(2, { device_id: 'old-device' })]
  const ack = await transport.push(encodeMessage({ entries: theirs }))
  t.deepEqual([ack.ok, ack.inserted, ack.ignored], [true, 2, 0])
  const rows = a.query<{ origin: string, trust: number }>(`SELECT ${rowOriginSql()} AS origin, trust FROM entries WHERE device_id = 'old-device'`)
  t.deepEqual(rows, [{ origin: '', trust: 0 }, { origin: '', trust: 0 }])
  // A 2.0.0 client on the same server gets 2.0.0 and signed entries.
  const { transport: v2 } = await dialDirect(client.node, served.addr, { newConnection: true, wireVersions: [2, 1], timeoutMs: 30_000 })
  t.teardown(async () => await v2.close())
  const signed = parseSyncBatch(decodeJson(await v2.pull({ cursor: 0, limit: 100 }), 'SyncBatch')) as { entries: Entry[] }
  t.is(v2.wire, 2)
  t.true(signed.entries.filter((e) => e.device_id === 'devA').every((e) => e.origin === served.addr.split('/p2p/')[1]))
})
