import { join } from 'node:path'
import test from 'ava'
import { parseSyncBatch, decodeJson, encodeMessage } from '../../src/protocol/messages.js'
import { dialDirect } from '../../src/p2p/index.js'
import { device } from '../helpers/peers.js'
import { seedDb, startPeer, makeEntry } from '../p2p/fixtures.js'
import { tempDir } from '../helpers/tmp.js'
import { openDatabase } from '../../src/store/db.js'

// "Today's release" on the wire is a node that serves only /rustory/sync-pull/1.0.0 and /rustory/entries-push/1.0.0:
// startPeer registers exactly that (serveSync, the unchanged 1.0.0 handlers), and no tombstone protocol.

test('a new device syncs entries both ways with a peer that speaks only the 1.0.0 entry protocols, skipping tombstones', async (t) => {
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  const oldDb = join(dir, 'old.db')
  const oldIds = seedDb(oldDb, 50, { deviceId: 'old-device' })
  const old = await startPeer(t, { dir, swarmKeyPath: swarm, dbPath: oldDb, name: 'old' })
  const b = device(t, dir, 'devB', swarm)
  const ownIds = await b.record(3)
  // B has a tombstone of its own: it must not stop the entry sync with the old peer.
  const doomed = await b.record(1, 'doomed')
  t.is((await b.rr(['delete', doomed[0]!])).code, 0)

  const sync = await b.rr(['p2p-sync', '--peers', old.addr, '--push'])
  t.is(sync.code, 0, sync.stderr)
  t.regex(sync.stdout, /sync: peer=\w+ ok path=direct pulled=50 inserted=50 pushed=3 tombstones=unsupported/)
  t.regex(sync.stderr, /does not serve tombstones \(an older rustory\); syncing entries only/)
  t.deepEqual(b.entryIds(), [...oldIds, ...ownIds].sort())
  const db = openDatabase(oldDb)
  try {
    const onOld = new Set((db.prepare('SELECT entry_id FROM entries').pluck().all() as string[]))
    t.true(ownIds.every((id) => onOld.has(id)), 'B pushed its entries to the old peer')
    t.false(onOld.has(doomed[0]!), 'the deleted entry is never sent')
  } finally {
    db.close()
  }
  // A second round is quiet about it (said once per process) and still converges.
  const again = await b.rr(['p2p-sync', '--peers', old.addr, '--push'])
  t.is(again.code, 0, again.stderr)
  t.regex(again.stdout, /inserted=0 pushed=0/)
})

test('an old client pulls and pushes entries on the 1.0.0 protocols of a new p2p-serve', async (t) => {
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  const a = device(t, dir, 'devA', swarm)
  const ids = await a.record(4)
  t.is((await a.rr(['delete', ids[0]!])).code, 0)
  const served = await a.serve()
  const old = await startPeer(t, { dir, swarmKeyPath: swarm, name: 'old-client' })
  const { transport } = await dialDirect(old.node, served.addr)
  try {
    const batch = parseSyncBatch(decodeJson(await transport.pull({ cursor: 0, limit: 100 }), 'SyncBatch'))
    t.deepEqual(batch.entries.map((e) => (e as { entry_id: string }).entry_id).sort(), ids.slice(1).sort())
    const ack = await transport.push(encodeMessage({ entries: [makeEntry(1, { device_id: 'old-client' })] }))
    t.deepEqual([ack.ok, ack.inserted], [true, 1])
  } finally {
    await transport.close()
  }
  t.is(a.entryIds().length, 4)
})
