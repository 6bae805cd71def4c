import test from 'ava'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
import { openDatabase, DatabaseOpenError } from '../../src/store/db.js'
import { countEntries, entriesAfter, ingestPulledBatch, insertEntries, maxIngestSeq, stripSeq } from '../../src/store/entries.js'
import { schemaLevel, schemaVersion } from '../../src/store/schema.js'
import { getPullCursor } from '../../src/store/peers.js'
import { compareEntries } from '../../src/core/entry.js'
import { tempDir } from '../helpers/tmp.js'
import { entry } from './fixtures.js'

test('a new database gets the whole schema, WAL, the current schema level and the user_version rustory 0.1.0 opens', (t) => {
  const path = join(tempDir(t), 'sub', 'history.db')
  const db = openDatabase(path)
  t.teardown(() => db.close())
  t.is(schemaLevel(db), schemaVersion)
  t.is(db.pragma('user_version', { simple: true }), 5, 'rustory 0.1.0 refuses a file whose user_version is above 5')
  t.is(db.pragma('journal_mode', { simple: true }), 'wal')
  t.true((db.pragma('busy_timeout', { simple: true }) as number) >= 5000)
  const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[]
  for (const name of ['entries', 'peer_state', 'peer_push_state', 'peer_book', 'counters', 'sync_status', 'chunks']) t.true(tables.includes(name), name)
  const columns = (db.prepare('SELECT name FROM pragma_table_info(\'entries\')').pluck().all() as string[]).sort()
  t.deepEqual(columns, ['chunk', 'chunk_pos', 'cmd', 'cwd', 'device_id', 'duration_ms', 'entry_id', 'exit_code', 'hostname', 'ingest_seq', 'origin', 'rival_of', 'session_id', 'shell', 'sig', 'trust', 'ts', 'ts_orig', 'user_id', 'version'])
  const indexes = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND tbl_name = 'entries' AND sql IS NOT NULL").all() as Array<{ name: string, sql: string }>
  // UNIQUE(entry_id) alone, as rustory 0.1.0's ON CONFLICT(entry_id) needs (rival copies: schema v7, docs/TRUST.md).
  t.true(indexes.some((i) => /UNIQUE/i.test(i.sql) && /\(entry_id\)/.test(i.sql)))
  t.false(indexes.some((i) => /\(entry_id, origin\)/.test(i.sql)))
  t.true(indexes.some((i) => /\(ts\b/.test(i.sql)))
  t.true(indexes.some((i) => /\(device_id\b/.test(i.sql)))
  // ingest_seq is the INTEGER PRIMARY KEY: the rowid itself, the table's own index.
  const pk = db.prepare("SELECT name, type FROM pragma_table_info('entries') WHERE pk = 1").all()
  t.deepEqual(pk, [{ name: 'ingest_seq', type: 'INTEGER' }])
  t.regex(db.prepare("SELECT sql FROM sqlite_master WHERE name = 'entries'").pluck().get() as string, /AUTOINCREMENT/)
})

test('an existing empty file is migrated from user_version 0', (t) => {
  const path = join(tempDir(t), 'empty.db')
  writeFileSync(path, '')
  const db = openDatabase(path)
  t.teardown(() => db.close())
  t.is(schemaLevel(db), schemaVersion)
  t.is(insertEntries(db, [entry()]).inserted, 1)
})

test('a database at an older schema version is migrated forward and keeps its rows', (t) => {
  const path = join(tempDir(t), 'v1.db')
  const raw = new BetterSqlite3(path)
  // Schema version 1 as released (without sync_status).
  raw.exec(`CREATE TABLE entries (ingest_seq INTEGER PRIMARY KEY AUTOINCREMENT, entry_id TEXT NOT NULL, device_id TEXT NOT NULL,
    user_id TEXT NOT NULL, ts TEXT NOT NULL, cmd TEXT NOT NULL, cwd TEXT NOT NULL, exit_code INTEGER NOT NULL,
    duration_ms INTEGER NOT NULL, shell TEXT NOT NULL, hostname TEXT NOT NULL, version TEXT NOT NULL);
    CREATE UNIQUE INDEX entries_entry_id ON entries (entry_id);
    CREATE INDEX entries_ts ON entries (ts, device_id, entry_id);
    CREATE INDEX entries_device_id ON entries (device_id, ingest_seq);
    CREATE INDEX entries_ingest_seq ON entries (ingest_seq);
    CREATE TABLE peer_state (peer_id TEXT PRIMARY KEY, last_cursor INTEGER NOT NULL);
    CREATE TABLE peer_push_state (peer_id TEXT PRIMARY KEY, last_pushed_seq INTEGER NOT NULL);
    CREATE TABLE peer_book (peer_id TEXT PRIMARY KEY, addrs TEXT NOT NULL, user_id TEXT, device_id TEXT, hostname TEXT, last_seen_unix INTEGER NOT NULL);
    CREATE TABLE counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL);
    PRAGMA user_version = 1;`)
  const old = entry()
  raw.prepare('INSERT INTO entries (entry_id, device_id, user_id, ts, cmd, cwd, exit_code, duration_ms, shell, hostname, version) VALUES (@entry_id, @device_id, @user_id, @ts, @cmd, @cwd, @exit_code, @duration_ms, @shell, @hostname, @version)').run(old)
  raw.close()
  const db = openDatabase(path)
  t.teardown(() => db.close())
  t.is(schemaLevel(db), schemaVersion)
  t.deepEqual(entriesAfter(db, 0, 10).map(stripSeq), [old])
  t.truthy(db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'sync_status'").get())
})

test('a database from a newer rustory is refused with a message saying to upgrade', (t) => {
  const path = join(tempDir(t), 'future.db')
  const raw = new BetterSqlite3(path)
  raw.pragma(`user_version = ${schemaVersion + 1}`)
  raw.close()
  const err = t.throws(() => openDatabase(path), { instanceOf: DatabaseOpenError })
  t.regex(err!.message, /newer than this rustory understands.*upgrade/)
})

test('a file that is not a database gives an error naming the file', (t) => {
  const path = join(tempDir(t), 'junk.db')
  writeFileSync(path, 'this is not sqlite '.repeat(100))
  const err = t.throws(() => openDatabase(path), { instanceOf: DatabaseOpenError })
  t.true(err!.message.includes(path))
  t.regex(err!.message, /not a rustory database|not a database/)
})

test('re-inserting a known entry_id is ignored, not an error, and the batch reports inserted vs ignored', (t) => {
  const db = openDatabase(join(tempDir(t), 'h.db'))
  t.teardown(() => db.close())
  const a = entry()
  const b = entry()
  t.deepEqual(insertEntries(db, [a, b]), { inserted: 2, ignored: 0 })
  const c = entry()
  // Same entry_id with different content is still the same entry: the first one wins.
  t.deepEqual(insertEntries(db, [a, { ...b, cmd: 'changed' }, c, c]), { inserted: 1, ignored: 3 })
  t.is(countEntries(db), 3)
  t.is(entriesAfter(db, 0, 10).find((r) => r.entry_id === b.entry_id)!.cmd, b.cmd)
  t.deepEqual(insertEntries(db, []), { inserted: 0, ignored: 0 })
})

test('a batch is one transaction: a failure in the middle leaves nothing behind', (t) => {
  const db = openDatabase(join(tempDir(t), 'h.db'))
  t.teardown(() => db.close())
  const bad = { ...entry(), cmd: null } as unknown as ReturnType<typeof entry>
  t.throws(() => insertEntries(db, [entry(), entry(), bad]), { any: true, message: /NOT NULL/ })
  t.is(countEntries(db), 0)
})

test('ingest_seq increases strictly in insertion order and is never reused, across reopen and after deletes', (t) => {
  const path = join(tempDir(t), 'h.db')
  let db = openDatabase(path)
  insertEntries(db, [entry(), entry(), entry()])
  const first = entriesAfter(db, 0, 10).map((r) => r.ingest_seq)
  t.deepEqual(first, [1, 2, 3])
  // Even if the newest rows disappeared (pruning is not in the MVP, but a cursor must never be handed out twice).
  db.prepare('DELETE FROM entries WHERE ingest_seq >= 2').run()
  db.close()
  db = openDatabase(path)
  t.teardown(() => db.close())
  insertEntries(db, [entry()])
  insertEntries(db, [entry(), entry()])
  const seqs = entriesAfter(db, 0, 10).map((r) => r.ingest_seq)
  t.deepEqual(seqs, [1, 4, 5, 6])
  t.is(maxIngestSeq(db), 6)
  // After ignored duplicates (SQLite may skip numbers for them) the next row still gets a larger seq.
  t.deepEqual(insertEntries(db, entriesAfter(db, 0, 10).map(stripSeq)), { inserted: 0, ignored: 4 })
  insertEntries(db, [entry()])
  t.true(maxIngestSeq(db) > 6)
  const all = entriesAfter(db, 0, 10).map((r) => r.ingest_seq)
  t.is(all.length, 5)
  t.true(all.every((seq, i) => i === 0 || seq > all[i - 1]!))
})

test('entriesAfter pages by cursor, ascending, at most limit', (t) => {
  const db = openDatabase(join(tempDir(t), 'h.db'))
  t.teardown(() => db.close())
  insertEntries(db, Array.from({ length: 10 }, () => entry()))
  t.deepEqual(entriesAfter(db, 0, 4).map((r) => r.ingest_seq), [1, 2, 3, 4])
  t.deepEqual(entriesAfter(db, 4, 4).map((r) => r.ingest_seq), [5, 6, 7, 8])
  t.deepEqual(entriesAfter(db, 8, 4).map((r) => r.ingest_seq), [9, 10])
  t.deepEqual(entriesAfter(db, 10, 4), [])
})

test('a pulled batch and the peer cursor commit together', (t) => {
  const db = openDatabase(join(tempDir(t), 'h.db'))
  t.teardown(() => db.close())
  const batch = [entry(), entry()]
  t.deepEqual(ingestPulledBatch(db, 'peer-1', batch, 42), { inserted: 2, ignored: 0 })
  t.is(getPullCursor(db, 'peer-1'), 42)
  // A retried batch is ignored and never moves the cursor back.
  t.deepEqual(ingestPulledBatch(db, 'peer-1', batch, 40), { inserted: 0, ignored: 2 })
  t.is(getPullCursor(db, 'peer-1'), 42)
  const bad = { ...entry(), cwd: null } as unknown as ReturnType<typeof entry>
  t.throws(() => ingestPulledBatch(db, 'peer-1', [entry(), bad], 50), { any: true, message: /NOT NULL/ })
  t.is(getPullCursor(db, 'peer-1'), 42)
  t.is(countEntries(db), 2)
})

test('ts keeps milliseconds, so commands of the same second keep their order', (t) => {
  const db = openDatabase(join(tempDir(t), 'h.db'))
  t.teardown(() => db.close())
  const second = '2026-03-04T05:06:07'
  const inserted = [
    entry({ ts: `${second}.900Z`, cmd: 'third' }),
    entry({ ts: `${second}.005Z`, cmd: 'first' }),
    entry({ ts: `${second}.050Z`, cmd: 'second' })
  ]
  insertEntries(db, inserted)
  const byTs = db.prepare('SELECT cmd, ts FROM entries ORDER BY ts, device_id, entry_id').all() as Array<{ cmd: string, ts: string }>
  t.deepEqual(byTs.map((r) => r.cmd), ['first', 'second', 'third'])
  t.is(byTs[0]!.ts, `${second}.005Z`)
  const sorted = [...inserted].sort(compareEntries)
  t.deepEqual(sorted.map((e) => e.cmd), ['first', 'second', 'third'])
})
