import test from 'ava'
import { join } from 'node:path'
import type { Entry } from '../../src/core/entry.js'
import { maxCmdBytes } from '../../src/core/entry.js'
import { openDatabase, type Database } from '../../src/store/db.js'
import { insertEntries } from '../../src/store/entries.js'
import { schemaLevel, schemaVersion } from '../../src/store/schema.js'
import { tempDir } from '../helpers/tmp.js'
import { prng, randomEntries, referenceLatest, v2DbWith } from '../search/fixtures.js'
import { entry } from './fixtures.js'

type LatestRow = { cmd: string, ts: string, device_id: string, entry_id: string }

function latestRows (db: Database): LatestRow[] {
  return db.prepare('SELECT cmd, ts, device_id, entry_id FROM command_latest ORDER BY cmd').all() as LatestRow[]
}

function expectedRows (entries: readonly Entry[]): LatestRow[] {
  return [...referenceLatest(entries).values()]
    .map((e) => ({ cmd: e.cmd, ts: e.ts, device_id: e.device_id, entry_id: e.entry_id }))
    .sort((a, b) => Buffer.compare(Buffer.from(a.cmd), Buffer.from(b.cmd)))
}

/** The most recent use of each command, computed from entries alone with GROUP BY (fixed-width ts, printable ids). */
function groupByLatest (db: Database): LatestRow[] {
  return (db.prepare('SELECT cmd, MAX(ts || char(1) || device_id || char(1) || entry_id) AS k FROM entries GROUP BY cmd ORDER BY cmd')
    .all() as Array<{ cmd: string, k: string }>)
    .map(({ cmd, k }) => {
      const [ts, deviceId, entryId] = k.split('\u0001') as [string, string, string]
      return { cmd, ts, device_id: deviceId, entry_id: entryId }
    })
}

function freshDb (t: Parameters<typeof tempDir>[0]): Database {
  const db = openDatabase(join(tempDir(t), 'history.db'))
  t.teardown(() => db.close())
  return db
}

function shuffled<T> (items: readonly T[], random: () => number): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

test('a new database has command_latest and its feed index, and no trigger (inserts keep it, schema v4)', (t) => {
  const db = freshDb(t)
  t.is(schemaLevel(db), schemaVersion)
  t.true(schemaVersion >= 4)
  const objects = db.prepare("SELECT type, name FROM sqlite_master WHERE name LIKE '%command_latest%' AND sql IS NOT NULL ORDER BY name").all()
  t.deepEqual(objects, [
    { type: 'table', name: 'command_latest' },
    { type: 'index', name: 'command_latest_ts' }
  ])
  // The only trigger is v6's tombstone guard, which never touches command_latest.
  t.is(db.prepare("SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND sql LIKE '%command_latest%'").pluck().get(), 0)
  const plan = (db.prepare('EXPLAIN QUERY PLAN SELECT cmd FROM command_latest ORDER BY ts DESC, device_id DESC, entry_id DESC').all() as Array<{ detail: string }>)
    .map((r) => r.detail).join('; ')
  t.regex(plan, /command_latest_ts/)
  t.notRegex(plan, /TEMP B-TREE/)
})

test('an older use inserted after a newer one does not move the command back', (t) => {
  const db = freshDb(t)
  const newer = entry({ cmd: 'make', ts: '2026-01-02T00:00:00.000Z' })
  const older = entry({ cmd: 'make', ts: '2026-01-01T00:00:00.000Z' })
  insertEntries(db, [newer])
  insertEntries(db, [older])
  t.deepEqual(latestRows(db), [{ cmd: 'make', ts: newer.ts, device_id: newer.device_id, entry_id: newer.entry_id }])
  const newest = entry({ cmd: 'make', ts: '2026-01-03T00:00:00.000Z' })
  insertEntries(db, [newest])
  t.deepEqual(latestRows(db), [{ cmd: 'make', ts: newest.ts, device_id: newest.device_id, entry_id: newest.entry_id }])
})

test('equal timestamps are broken by device_id, then entry_id, whatever the insert order', (t) => {
  const ts = '2026-01-01T00:00:00.000Z'
  const a1 = entry({ cmd: 'ls', ts, device_id: 'a', entry_id: '00000000-0000-4000-8000-000000000009' })
  const b1 = entry({ cmd: 'ls', ts, device_id: 'b', entry_id: '00000000-0000-4000-8000-000000000001' })
  const b2 = entry({ cmd: 'ls', ts, device_id: 'b', entry_id: '00000000-0000-4000-8000-000000000002' })
  for (const order of [[a1, b1, b2], [b2, b1, a1], [b1, a1, b2], [b2, a1, b1]]) {
    const db = freshDb(t)
    for (const e of order) insertEntries(db, [e])
    t.deepEqual(latestRows(db).map((r) => [r.device_id, r.entry_id]), [['b', b2.entry_id]])
  }
})

test('a known entry_id inserted again (ON CONFLICT DO NOTHING or INSERT OR IGNORE) leaves command_latest untouched', (t) => {
  const db = freshDb(t)
  const e = entry({ cmd: 'git push', ts: '2026-01-01T00:00:00.000Z' })
  insertEntries(db, [e])
  const before = db.prepare('SELECT id, cmd, ts, device_id, entry_id FROM command_latest').all()
  // The same entry_id with a newer ts and another device: a duplicate is not inserted, so command_latest must not move.
  const forged = { ...e, ts: '2030-01-01T00:00:00.000Z', device_id: 'zzz' }
  t.deepEqual(insertEntries(db, [forged]), { inserted: 0, ignored: 1 })
  db.prepare(`INSERT OR IGNORE INTO entries (entry_id, device_id, user_id, ts, cmd, cwd, exit_code, duration_ms, shell, hostname, version)
              VALUES (@entry_id, @device_id, @user_id, @ts, @cmd, @cwd, @exit_code, @duration_ms, @shell, @hostname, @version)`).run(forged)
  t.deepEqual(db.prepare('SELECT id, cmd, ts, device_id, entry_id FROM command_latest').all(), before)
})

test('a failed batch leaves command_latest as it was (same transaction as the entries)', (t) => {
  const db = freshDb(t)
  insertEntries(db, [entry({ cmd: 'a', ts: '2026-01-01T00:00:00.000Z' })])
  const before = latestRows(db)
  const bad = { ...entry({ cmd: 'c', ts: '2026-01-03T00:00:00.000Z' }), cwd: null } as unknown as Entry
  t.throws(() => insertEntries(db, [entry({ cmd: 'a', ts: '2026-01-02T00:00:00.000Z' }), entry({ cmd: 'b', ts: '2026-01-02T00:00:00.000Z' }), bad]), { any: true, message: /NOT NULL/ })
  t.deepEqual(latestRows(db), before)
})

test('inserts in any order and any batching keep command_latest equal to the most recent use of each command', (t) => {
  const random = prng(20260101)
  for (let round = 0; round < 6; round++) {
    // Few commands, few timestamps, few devices: many repeats and many exact ties.
    const entries = randomEntries(1000 + round, 400, { commands: 40, times: 25, devices: 3 })
    const db = freshDb(t)
    let rest = shuffled(entries, random)
    while (rest.length > 0) {
      const size = 1 + Math.floor(random() * 60)
      insertEntries(db, rest.slice(0, size))
      rest = rest.slice(size)
    }
    t.deepEqual(latestRows(db), expectedRows(entries), `round ${round}`)
    t.deepEqual(latestRows(db), groupByLatest(db), `round ${round} vs GROUP BY`)
    // Everything again, reshuffled: all duplicates, nothing moves.
    const snapshot = db.prepare('SELECT id, cmd, ts, device_id, entry_id FROM command_latest ORDER BY id').all()
    t.is(insertEntries(db, shuffled(entries, random)).inserted, 0)
    t.deepEqual(db.prepare('SELECT id, cmd, ts, device_id, entry_id FROM command_latest ORDER BY id').all(), snapshot)
  }
})

test('commands up to the 64 KiB cap are kept whole, one row each', (t) => {
  const db = freshDb(t)
  const long = 'x'.repeat(maxCmdBytes - 1) + '\n'
  const longer = 'x'.repeat(maxCmdBytes)
  insertEntries(db, [
    entry({ cmd: long, ts: '2026-01-01T00:00:00.000Z' }),
    entry({ cmd: longer, ts: '2026-01-02T00:00:00.000Z' }),
    entry({ cmd: long, ts: '2026-01-03T00:00:00.000Z' })
  ])
  const rows = db.prepare('SELECT cmd, ts FROM command_latest ORDER BY ts').all() as Array<{ cmd: string, ts: string }>
  t.deepEqual(rows.map((r) => [r.cmd.length, r.ts]), [[maxCmdBytes, '2026-01-02T00:00:00.000Z'], [maxCmdBytes, '2026-01-03T00:00:00.000Z']])
  t.is(rows[1]!.cmd, long)
})

test('migrating a v2 database with data backfills command_latest to match a GROUP BY over entries', (t) => {
  const entries = randomEntries(77, 1500, { commands: 300, times: 200, devices: 4 })
  const { dbPath } = v2DbWith(t, entries)
  const raw = openDatabase(dbPath, { readonly: true })
  t.is(raw.pragma('user_version', { simple: true }), 2)
  t.is(raw.prepare("SELECT 1 FROM sqlite_master WHERE name = 'command_latest'").get(), undefined)
  raw.close()

  const db = openDatabase(dbPath)
  t.teardown(() => db.close())
  t.is(schemaLevel(db), schemaVersion)
  t.is((db.prepare('SELECT COUNT(*) FROM entries').pluck().get()), 1500)
  t.deepEqual(latestRows(db), groupByLatest(db))
  t.deepEqual(latestRows(db), expectedRows(entries))
  // And inserts keep it from then on.
  const later = randomEntries(78, 300, { commands: 400, times: 300, devices: 4 })
  insertEntries(db, later)
  t.deepEqual(latestRows(db), expectedRows([...entries, ...later]))
})

test('a v2 database with no entries migrates to an empty command_latest', (t) => {
  const { dbPath } = v2DbWith(t, [])
  const db = openDatabase(dbPath)
  t.teardown(() => db.close())
  t.is(schemaLevel(db), schemaVersion)
  t.deepEqual(latestRows(db), [])
  insertEntries(db, [entry({ cmd: 'first', ts: '2026-01-01T00:00:00.000Z' })])
  t.deepEqual(latestRows(db).map((r) => r.cmd), ['first'])
})

test('a v3 database (command_latest kept by a trigger) migrates to v4: the trigger is dropped, inserts keep the table right', (t) => {
  const dbPath = join(tempDir(t), 'history.db')
  const setup = openDatabase(dbPath)
  const early = randomEntries(91, 300, { commands: 50, times: 100, devices: 3 })
  insertEntries(setup, early)
  // Back to v3 as it shipped: the same table plus its AFTER INSERT trigger.
  setup.exec(`CREATE TRIGGER entries_command_latest AFTER INSERT ON entries BEGIN
      INSERT INTO command_latest (ts, device_id, entry_id, cmd) VALUES (new.ts, new.device_id, new.entry_id, new.cmd)
        ON CONFLICT (cmd) DO UPDATE SET ts = excluded.ts, device_id = excluded.device_id, entry_id = excluded.entry_id
          WHERE (excluded.ts, excluded.device_id, excluded.entry_id) > (command_latest.ts, command_latest.device_id, command_latest.entry_id);
    END;
    PRAGMA user_version = 3;`)
  setup.close()
  const db = openDatabase(dbPath)
  t.teardown(() => db.close())
  t.is(schemaLevel(db), schemaVersion)
  // The only trigger is v6's tombstone guard, which never touches command_latest.
  t.is(db.prepare("SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND sql LIKE '%command_latest%'").pluck().get(), 0)
  const later = randomEntries(92, 300, { commands: 80, times: 150, devices: 3 })
  insertEntries(db, later)
  t.deepEqual(latestRows(db), expectedRows([...early, ...later]))
  t.deepEqual(latestRows(db), groupByLatest(db))
})
