import test from 'ava'
import { openFeed } from '../../src/search/feed.js'
import { filterFeed } from '../../src/search/filter.js'
import { openDatabase } from '../../src/store/db.js'
import { insertEntries } from '../../src/store/entries.js'
import { feedCmdSql, feedSource, iterateFeedCmds, iterateFeedKeyed, openForSearch, type FeedFilters } from '../../src/store/search.js'
import { dbWith, entry, randomEntries, records, referenceFeed, v2DbWith } from './fixtures.js'

async function wholeFeed (dbPath: string, limit: number, filters: FeedFilters, headRows: number): Promise<string[]> {
  const feed = openFeed({ dbPath, limit, filters, headRows })
  const got = records(feed.head)
  await feed.rest((c) => got.push(...records(c)))
  return got
}

test('the unfiltered feed reads command_latest; a filtered one, or a database before v3, reads entries', (t) => {
  const { dbPath } = dbWith(t, [entry({ cmd: 'ls', ts: '2026-01-01T00:00:00.000Z' })])
  const db = openForSearch(dbPath)!
  t.teardown(() => db.close())
  t.is(feedSource(db, {}), 'command_latest')
  for (const filters of [{ cwd: '' }, { exitCode: 0 }, { deviceId: 'd' }, { hostname: 'h' }, { since: '2026-01-01T00:00:00.000Z' }, { until: '2026-01-01T00:00:00.000Z' }]) {
    t.is(feedSource(db, filters), 'entries', JSON.stringify(filters))
  }
  const old = v2DbWith(t, [entry({ cmd: 'ls', ts: '2026-01-01T00:00:00.000Z' })])
  const oldDb = openForSearch(old.dbPath)!
  t.teardown(() => oldDb.close())
  t.is(feedSource(oldDb, {}), 'entries')
})

test('command_latest serves the unfiltered feed only, walking its ts index after a keyset position', (t) => {
  const after: [string, string, string] = ['2026-01-01T00:00:00.000Z', 'd', 'e']
  t.deepEqual(feedCmdSql({}, after, 'command_latest'), {
    sql: 'SELECT cmd FROM command_latest WHERE (ts, device_id, entry_id) < (?, ?, ?) ORDER BY ts DESC, device_id DESC, entry_id DESC',
    params: [...after]
  })
  t.throws(() => feedCmdSql({ cwd: '/' }, undefined, 'command_latest'), { message: /unfiltered/ })
  const { dbPath } = dbWith(t, [entry({ cmd: 'ls', ts: '2026-01-01T00:00:00.000Z' })])
  const db = openForSearch(dbPath)!
  t.teardown(() => db.close())
  const plan = (db.prepare(`EXPLAIN QUERY PLAN ${feedCmdSql({}, after, 'command_latest').sql}`).all(...after) as Array<{ detail: string }>)
    .map((r) => r.detail).join('; ')
  t.regex(plan, /SEARCH command_latest USING INDEX command_latest_ts/)
  t.notRegex(plan, /TEMP B-TREE/)
})

// Property-style: seeded random databases (repeats, ts ties, several devices), the feed through the head and the
// rest compared with the original algorithm (every entry newest first, first use of each command).
test('the feed equals the entry-scan algorithm on random databases, for any head size and limit', async (t) => {
  const cases = [
    { seed: 1, n: 2000, commands: 600, times: 500, devices: 3, limit: 100000, headRows: 50 },
    { seed: 2, n: 2000, commands: 1500, times: 40, devices: 5, limit: 700, headRows: 1000 },
    { seed: 3, n: 1500, commands: 80, times: 1500, devices: 2, limit: 30, headRows: 7 },
    { seed: 4, n: 3000, commands: 2500, times: 3000, devices: 8, limit: 1999, headRows: 1 },
    { seed: 5, n: 500, commands: 500, times: 5, devices: 2, limit: 100000, headRows: 499 }
  ]
  for (const c of cases) {
    const entries = randomEntries(c.seed, c.n, c)
    const { dbPath } = dbWith(t, entries)
    const expected = referenceFeed(entries, c.limit)
    t.deepEqual(await wholeFeed(dbPath, c.limit, {}, c.headRows), expected, `seed ${c.seed}`)
    t.is(filterFeed({ dbPath, limit: c.limit, filters: {}, query: '' }), expected.map((cmd) => cmd + '\n').join(''), `--filter seed ${c.seed}`)
    // The store-level walk, with and without a keyset position, against the same reference.
    const db = openForSearch(dbPath)!
    try {
      const all = [...iterateFeedCmds(db, {})]
      t.deepEqual(all, referenceFeed(entries, Infinity))
      const keyed = [...iterateFeedKeyed(db, {})]
      const middle = keyed[Math.floor(keyed.length / 2)]!
      t.deepEqual([...iterateFeedCmds(db, {}, [middle[1], middle[2], middle[3]])], all.slice(Math.floor(keyed.length / 2) + 1))
    } finally {
      db.close()
    }
  }
})

test('filtered feeds still deduplicate the matching entries, through the head and the rest', async (t) => {
  const entries = randomEntries(9, 2500, { commands: 400, times: 600, devices: 3 })
  const { dbPath } = dbWith(t, entries)
  const cases: Array<[FeedFilters, (e: typeof entries[number]) => boolean]> = [
    [{ deviceId: 'dev-1' }, (e) => e.device_id === 'dev-1'],
    [{ cwd: '/p2', exitCode: 0 }, (e) => e.cwd === '/p2' && e.exit_code === 0],
    [{ since: '2026-01-01T00:03:00.000Z', until: '2026-01-01T00:07:00.000Z' }, (e) => e.ts >= '2026-01-01T00:03:00.000Z' && e.ts <= '2026-01-01T00:07:00.000Z']
  ]
  for (const [filters, keep] of cases) {
    t.deepEqual(await wholeFeed(dbPath, 100000, filters, 13), referenceFeed(entries, 100000, keep), JSON.stringify(filters))
  }
})

test('a database from before schema v3 is searched read-only through entries and is not migrated by the search', async (t) => {
  const entries = randomEntries(11, 1200, { commands: 300, times: 900, devices: 3 })
  const { dbPath } = v2DbWith(t, entries)
  t.deepEqual(await wholeFeed(dbPath, 100000, {}, 20), referenceFeed(entries, 100000))
  t.is(filterFeed({ dbPath, limit: 50, filters: {}, query: '' }), referenceFeed(entries, 50).map((cmd) => cmd + '\n').join(''))
  const db = openForSearch(dbPath)!
  t.is(db.pragma('user_version', { simple: true }), 2)
  db.close()
  // The next write migrates it, and the feed then reads command_latest with the same result.
  openDatabase(dbPath).close()
  const migrated = openForSearch(dbPath)!
  t.is(feedSource(migrated, {}), 'command_latest')
  migrated.close()
  t.deepEqual(await wholeFeed(dbPath, 100000, {}, 20), referenceFeed(entries, 100000))
})

test('a command used again moves to the top of the next feed and is listed once', async (t) => {
  const entries = Array.from({ length: 30 }, (_, i) => entry({ cmd: `c${i}`, ts: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString() }))
  const { dbPath } = dbWith(t, entries)
  const db = openDatabase(dbPath)
  insertEntries(db, [entry({ cmd: 'c3', ts: '2026-02-01T00:00:00.000Z' }), entry({ cmd: 'c20', ts: '2025-01-01T00:00:00.000Z' })])
  db.close()
  const got = await wholeFeed(dbPath, 100, {}, 5)
  t.deepEqual(got, ['c3', ...Array.from({ length: 30 }, (_, k) => `c${29 - k}`).filter((c) => c !== 'c3')])
})
