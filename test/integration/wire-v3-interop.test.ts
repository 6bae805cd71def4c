/**
 * Devices from before runs speak 3.0.0 and older; a 4.0.0 device must sync both ways with them, every chunk and
 * signature checked. "3.0.0-only" peers here are the real server and transport with only the 1.0.0-3.0.0 protocol ids
 * registered/offered (serveSync's and dialDirect's wireVersions), and the real ingest worker on the 3.0.0 wire: what a
 * release from before runs does. The 4.0.0 side is real `rr` processes.
 */
import { join } from 'node:path'
import test from 'ava'
import Database from 'better-sqlite3'
import { entrySignerOf, loadOrCreateIdentity } from '../../src/config/keys.js'
import { entriesPushProtocolV3, entriesPushProtocolV4, syncPullProtocolV3, syncPullProtocolV4 } from '../../src/protocol/constants.js'
import { openDatabase } from '../../src/store/db.js'
import { insertEntries } from '../../src/store/entries.js'
import { rowOriginSql } from '../../src/store/wire-id.js'
import { device } from '../helpers/peers.js'
import { tempDir } from '../helpers/tmp.js'
import { admitAll, pullAll, pullInto } from '../helpers/wire.js'
import { makeEntry, startPeer } from '../p2p/fixtures.js'

interface Row { cmd: string, origin: string, trust: number, chunk: number | null, chunk_pos: number | null }

function rowsIn (path: string, where = 'true'): Row[] {
  const db = new Database(path, { readonly: true })
  try {
    return db.prepare(`SELECT cmd, ${rowOriginSql()} AS origin, trust, chunk, chunk_pos FROM entries WHERE ${where} ORDER BY ingest_seq`).all() as Row[]
  } finally {
    db.close()
  }
}

test('a 4.0.0 device syncs both ways with a node that offers only 3.0.0 and older; every chunk is checked', async (t) => {
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  const oldDb = join(dir, 'old.db')
  const oldSigner = entrySignerOf(await loadOrCreateIdentity(join(dir, 'old.key')))
  const db = openDatabase(oldDb)
  insertEntries(db, [1, 2, 3].map((i) => makeEntry(i, { device_id: 'old-device', cmd: `old own ${i}` })))
  db.close()
  const old = await startPeer(t, { dir, swarmKeyPath: swarm, dbPath: oldDb, name: 'old', serve: { wireVersions: [1, 2, 3], signer: oldSigner } })
  const offered = old.node.getProtocols()
  t.true(offered.includes(syncPullProtocolV3) && offered.includes(entriesPushProtocolV3))
  t.false(offered.includes(syncPullProtocolV4) || offered.includes(entriesPushProtocolV4))

  const b = device(t, dir, 'devB', swarm)
  const mine = await b.record(3)
  const sync = await b.rr(['p2p-sync', '--peers', old.addr, '--push'])
  t.is(sync.code, 0, sync.stderr)
  t.regex(sync.stdout, /pulled=3 inserted=3 pushed=3/)
  const got = b.query<Row>(`SELECT cmd, ${rowOriginSql()} AS origin, trust, chunk, chunk_pos FROM entries WHERE device_id <> 'devB' ORDER BY ingest_seq`)
  t.deepEqual(got.map((r) => [r.cmd, r.origin, r.trust]), [1, 2, 3].map((i) => [`old own ${i}`, oldSigner.origin, 1]), 'the 3.0.0 node\'s entries arrive verified by its chunk')
  t.true(got.every((r) => r.chunk != null && r.chunk_pos == null), 'first-hand by k on 3.0.0: linked to the chunk, not hashed, so no place')
  // What B pushed (on 3.0.0, the version they share) the 3.0.0 node verified and stored as B's.
  const pushed = rowsIn(oldDb, `entry_id IN (${mine.map((id) => `'${id}'`).join(',')})`)
  t.is(pushed.length, 3)
  t.true(pushed.every((r) => r.trust === 1 && r.origin !== '' && r.origin !== oldSigner.origin && r.chunk != null))
})

test('a 4.0.0 relay serves by runs on 4.0.0 and whole manifests on 3.0.0; rows it took first-hand get their place in the background', async (t) => {
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  const a = device(t, dir, 'devA', swarm)
  const r = device(t, dir, 'devR', swarm)
  await a.record(5, 'a cmd')
  const servedA = await a.serve()
  const aId = servedA.addr.split('/p2p/')[1]!
  t.is((await r.rr(['p2p-sync', '--peers', servedA.addr])).code, 0)
  t.deepEqual(rowsIn(r.dbPath).map((x) => [x.origin, x.trust, x.chunk_pos]), Array.from({ length: 5 }, () => [aId, 1, null]),
    'R pulled A over 4.0.0: every row verified; A sends its own entries by k under the whole manifest, so R has not hashed them')
  const servedR = await r.serve()
  // Serving starts the background task that signs ahead; it gives these rows their place again.
  const deadline = Date.now() + 30_000
  while (rowsIn(r.dbPath).some((x) => x.chunk_pos == null) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
  t.deepEqual(rowsIn(r.dbPath).map((x) => x.chunk_pos), [0, 1, 2, 3, 4])

  const mallory = await startPeer(t, { dir, swarmKeyPath: swarm, name: 'mallory' })
  const on4 = await pullAll(mallory, servedR.addr, 4)
  t.deepEqual(on4.map((s) => s.place), [0, 1, 2, 3, 4], 'on 4.0.0 every entry comes by a run, no hash of its own sent')
  t.true(on4.every((s) => s.chunk?.origin === aId))
  t.deepEqual(admitAll(on4).rejected, [], 'the rebuilt manifest verifies')
  const on3 = await pullAll(mallory, servedR.addr, 3)
  t.true(on3.every((s) => s.place === undefined && s.chunk?.hashes.length === 5 * 32), 'on 3.0.0 the manifest goes whole, each entry by k')

  // Real receivers on both versions, through the ingest worker: every entry verified against A's manifest.
  for (const wire of [3, 4] as const) {
    const path = join(dir, `receiver-${wire}.db`)
    openDatabase(path).close()
    t.deepEqual(await pullInto(mallory, servedR.addr, path, wire), { inserted: 5, rejected: 0 })
    const rows = rowsIn(path)
    t.deepEqual(rows.map((x) => [x.origin, x.trust]), Array.from({ length: 5 }, () => [aId, 1]))
    t.deepEqual(rows.map((x) => x.chunk_pos), [0, 1, 2, 3, 4], `wire ${wire}: relayed entries are hashed, so their places are known`)
  }
})
