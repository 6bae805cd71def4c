import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import test from 'ava'
import { openDatabase } from '../../src/store/db.js'
import { insertEntries } from '../../src/store/entries.js'
import {
  applyTombstones, countTombstones, deleteEntries, getTombstonePullCursor, ingestPulledTombstones, tombstonesAfter
} from '../../src/store/tombstones.js'
import { validateTombstone } from '../../src/core/tombstone.js'
import { tempDir } from '../helpers/tmp.js'
import { entry } from './fixtures.js'

function freshDb (t: import('ava').ExecutionContext) {
  const db = openDatabase(join(tempDir(t), 'history.db'))
  t.teardown(() => db.close())
  return db
}

const latest = (db: ReturnType<typeof freshDb>, cmd: string): string | undefined =>
  db.prepare('SELECT entry_id FROM command_latest WHERE cmd = ?').pluck().get(cmd) as string | undefined

test('deleting the latest use of a command moves command_latest back to the previous use; deleting the last use drops the row', (t) => {
  const db = freshDb(t)
  const older = entry({ cmd: 'make deploy', ts: '2026-01-01T00:00:00.000Z' })
  const newer = entry({ cmd: 'make deploy', ts: '2026-01-02T00:00:00.000Z' })
  const other = entry({ cmd: 'ls' })
  insertEntries(db, [older, newer, other])
  t.is(latest(db, 'make deploy'), newer.entry_id)
  const r = deleteEntries(db, [newer.entry_id], { deviceId: 'dev-a' })
  t.deepEqual([r.added, r.deleted, r.checkpointed], [1, 1, true])
  t.is(latest(db, 'make deploy'), older.entry_id)
  deleteEntries(db, [older.entry_id], { deviceId: 'dev-a' })
  t.is(latest(db, 'make deploy'), undefined)
  t.is(latest(db, 'ls'), other.entry_id)
  t.is(db.prepare('SELECT COUNT(*) FROM entries').pluck().get(), 1)
})

test('a tombstoned entry_id is refused by every insert, and the schema trigger is what refuses it', (t) => {
  const db = freshDb(t)
  const e = entry({ cmd: 'secret thing' })
  insertEntries(db, [e])
  deleteEntries(db, [e.entry_id], { deviceId: 'dev-a' })
  const again = insertEntries(db, [e, entry()])
  t.deepEqual(again, { inserted: 1, ignored: 1 })
  // A multi-row statement (16 rows at a time) skips just the tombstoned row.
  const many = Array.from({ length: 20 }, () => entry())
  many[7] = e
  t.deepEqual(insertEntries(db, many), { inserted: 19, ignored: 1 })
  t.is(db.prepare('SELECT COUNT(*) FROM entries WHERE entry_id = ?').pluck().get(e.entry_id), 0)
  t.is(db.prepare('SELECT COUNT(*) FROM command_latest WHERE cmd = ?').pluck().get('secret thing'), 0)
  // Without the trigger the entry would come back: the guard is the trigger, not the callers.
  db.exec('DROP TRIGGER entries_refuse_tombstoned')
  t.deepEqual(insertEntries(db, [e]), { inserted: 1, ignored: 0 })
})

test('tombstones are idempotent, carry no command text, and page by their own sequence', (t) => {
  const db = freshDb(t)
  const entries = Array.from({ length: 5 }, (_, i) => entry({ cmd: `cmd ${i}` }))
  insertEntries(db, entries)
  const ids = entries.map((e) => e.entry_id)
  const unknown = randomUUID()
  const first = deleteEntries(db, [...ids.slice(0, 3), unknown], { deviceId: 'dev-a', peerId: '12D3KooWtest', now: new Date('2026-03-01T00:00:00Z') })
  t.deepEqual([first.added, first.deleted], [4, 3])
  const second = deleteEntries(db, ids.slice(0, 3), { deviceId: 'dev-a' })
  t.deepEqual([second.added, second.deleted], [0, 0])
  const page = tombstonesAfter(db, 0, 2)
  t.deepEqual(page.map((p) => p.seq), [1, 2])
  t.deepEqual(Object.keys(page[0]!).sort(), ['deleted_at', 'device_id', 'entry_id', 'peer_id', 'seq'])
  t.is(page[0]!.deleted_at, '2026-03-01T00:00:00.000Z')
  t.deepEqual(tombstonesAfter(db, 2, 10).map((p) => p.entry_id), [ids[2], unknown])
  t.deepEqual(countTombstones(db, 'dev-a'), { total: 4, own: 4, received: 0 })
})

test('a pulled tombstone batch and its cursor commit together, and replaying it changes nothing', (t) => {
  const db = freshDb(t)
  const e = entry()
  insertEntries(db, [e])
  const tomb = validateTombstone({ entry_id: e.entry_id.toUpperCase(), deleted_at: '2026-03-01T00:00:00+02:00', device_id: 'dev-b' })
  t.is(tomb.entry_id, e.entry_id)
  t.is(tomb.deleted_at, '2026-02-28T22:00:00.000Z')
  t.deepEqual(ingestPulledTombstones(db, 'peer-b', [tomb], 7), { added: 1, deleted: 1 })
  t.is(getTombstonePullCursor(db, 'peer-b'), 7)
  t.deepEqual(ingestPulledTombstones(db, 'peer-b', [tomb], 5), { added: 0, deleted: 0 })
  t.is(getTombstonePullCursor(db, 'peer-b'), 7, 'the cursor never moves back')
  t.deepEqual(countTombstones(db, 'dev-a'), { total: 1, own: 0, received: 1 })
  // A failing batch leaves neither the tombstones nor the cursor.
  t.throws(() => ingestPulledTombstones(db, 'peer-b', [{ entry_id: randomUUID(), deleted_at: 'x', device_id: null as unknown as string }], 9), { any: true, message: /NOT NULL/ })
  t.is(getTombstonePullCursor(db, 'peer-b'), 7)
  t.is(countTombstones(db, 'dev-a').total, 1)
})

test('invalid tombstones are refused with the field named', (t) => {
  t.throws(() => validateTombstone({ entry_id: 'nope', deleted_at: '2026-01-01T00:00:00Z', device_id: 'd' }), { message: /entry_id must be a UUID/ })
  t.throws(() => validateTombstone({ entry_id: randomUUID(), deleted_at: 'yesterday', device_id: 'd' }), { message: /deleted_at/ })
  t.throws(() => validateTombstone({ entry_id: randomUUID(), deleted_at: '2026-01-01T00:00:00Z', device_id: '' }), { message: /device_id/ })
  t.throws(() => validateTombstone({ entry_id: randomUUID(), deleted_at: '2026-01-01T00:00:00Z', device_id: 'd', peer_id: 'x'.repeat(500) }), { message: /peer_id/ })
  t.notThrows(() => applyTombstones(freshDb(t), []))
})
