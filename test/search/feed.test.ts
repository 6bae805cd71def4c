import test from 'ava'
import { Distinct, openFeed } from '../../src/search/feed.js'
import type { FeedFilters } from '../../src/store/search.js'
import { dbWith, entry, records } from './fixtures.js'

async function wholeFeed (dbPath: string, limit: number, filters: FeedFilters = {}, headRows?: number): Promise<{ cmds: string[], headRows: number }> {
  const feed = openFeed({ dbPath, limit, filters, ...(headRows != null ? { headRows } : {}) })
  const chunks: Uint8Array[] = [feed.head]
  await feed.rest((c) => chunks.push(c))
  return { cmds: chunks.flatMap((c) => records(c)), headRows: feed.headRows }
}

test('the feed is newest first, ties broken by device_id then entry_id, all descending', async (t) => {
  const ts = '2026-01-01T00:00:00.000Z'
  const { dbPath } = dbWith(t, [
    entry({ cmd: 'oldest', ts: '2025-12-31T23:59:59.999Z' }),
    entry({ cmd: 'a-1', ts, device_id: 'a', entry_id: '00000000-0000-4000-8000-000000000001' }),
    entry({ cmd: 'a-2', ts, device_id: 'a', entry_id: '00000000-0000-4000-8000-000000000002' }),
    entry({ cmd: 'b-0', ts, device_id: 'b', entry_id: '00000000-0000-4000-8000-000000000000' }),
    entry({ cmd: 'newest', ts: '2026-01-01T00:00:00.001Z' })
  ])
  const { cmds } = await wholeFeed(dbPath, 100)
  t.deepEqual(cmds, ['newest', 'b-0', 'a-2', 'a-1', 'oldest'])
})

test('each command appears once, at its most recent use', async (t) => {
  const { dbPath } = dbWith(t, [
    entry({ cmd: 'make', ts: '2026-01-01T00:00:01.000Z' }),
    entry({ cmd: 'ls', ts: '2026-01-01T00:00:02.000Z' }),
    entry({ cmd: 'make', ts: '2026-01-01T00:00:03.000Z' }),
    entry({ cmd: 'git status', ts: '2026-01-01T00:00:04.000Z' }),
    entry({ cmd: 'ls', ts: '2026-01-01T00:00:05.000Z' })
  ])
  t.deepEqual((await wholeFeed(dbPath, 100)).cmds, ['ls', 'git status', 'make'])
})

test('multi-line commands come through whole', async (t) => {
  const multi = 'for f in *; do\n  echo "$f"\ndone'
  const { dbPath } = dbWith(t, [entry({ cmd: multi, ts: '2026-01-01T00:00:00.000Z' }), entry({ cmd: 'x', ts: '2026-01-01T00:00:01.000Z' })])
  t.deepEqual((await wholeFeed(dbPath, 100)).cmds, ['x', multi])
})

test('the rest continues after the head without repeating or losing a command', async (t) => {
  // 300 entries, 150 distinct commands used twice; the head holds 7, the rest streams after it.
  const entries = []
  for (let i = 0; i < 300; i++) {
    entries.push(entry({ cmd: `cmd ${i % 150}`, ts: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(), device_id: `d${i % 3}` }))
  }
  const { dbPath } = dbWith(t, entries)
  const { cmds, headRows } = await wholeFeed(dbPath, 1000, {}, 7)
  t.is(headRows, 7)
  const expected = Array.from({ length: 150 }, (_, k) => `cmd ${149 - k}`)
  t.deepEqual(cmds, expected)
})

test('--limit caps the distinct commands, across the head and the rest', async (t) => {
  const entries = Array.from({ length: 50 }, (_, i) => entry({ cmd: `c${i}`, ts: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString() }))
  const { dbPath } = dbWith(t, entries)
  t.deepEqual((await wholeFeed(dbPath, 12, {}, 5)).cmds, Array.from({ length: 12 }, (_, k) => `c${49 - k}`))
  t.deepEqual((await wholeFeed(dbPath, 3, {}, 5)).cmds, ['c49', 'c48', 'c47'])
})

test('a database that does not exist yet is an empty feed', async (t) => {
  const feed = openFeed({ dbPath: '/nonexistent/rustory/history.db', limit: 10, filters: {} })
  t.is(feed.head.length, 0)
  t.true(feed.complete)
  t.deepEqual(await feed.rest(() => t.fail()), { rows: 0 })
})

test('aborting before the rest sends nothing', async (t) => {
  const entries = Array.from({ length: 3000 }, (_, i) => entry({ cmd: `c${i}`, ts: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString() }))
  const { dbPath } = dbWith(t, entries)
  const feed = openFeed({ dbPath, limit: 100000, filters: {}, headRows: 10 })
  const abort = new AbortController()
  abort.abort()
  t.deepEqual(await feed.rest(() => t.fail('no chunk after abort'), { signal: abort.signal }), { rows: 0 })
})

test('aborting while the rest streams stops it after the chunk in hand', async (t) => {
  const entries = Array.from({ length: 20000 }, (_, i) => entry({ cmd: `c${i}`, ts: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString() }))
  const { dbPath } = dbWith(t, entries)
  const feed = openFeed({ dbPath, limit: 100000, filters: {}, headRows: 10 })
  const abort = new AbortController()
  let chunks = 0
  const rest = await feed.rest(() => { if (++chunks === 2) abort.abort() }, { signal: abort.signal })
  t.is(chunks, 2)
  t.true(rest.rows > 0 && rest.rows < 20000 - 10, `${rest.rows} rows`)
})

test('the rest waits while the sink is full, and every row still comes in order', async (t) => {
  const entries = Array.from({ length: 12000 }, (_, i) => entry({ cmd: `c${i}`, ts: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString() }))
  const { dbPath } = dbWith(t, entries)
  const feed = openFeed({ dbPath, limit: 100000, filters: {}, headRows: 10 })
  const got: string[] = records(feed.head)
  let inSink = 0
  let overlapped = false
  await feed.rest(async (c) => {
    if (++inSink > 1) overlapped = true
    await new Promise((resolve) => setTimeout(resolve, 5))
    got.push(...records(c))
    inSink--
  })
  t.false(overlapped, 'a chunk came before the sink had taken the last one')
  t.deepEqual(got, Array.from({ length: 12000 }, (_, k) => `c${11999 - k}`))
})

test('Distinct keeps the first offer of each command', (t) => {
  const d = new Distinct(['seen'])
  t.deepEqual(['a', 'seen', 'b', 'a'].map((c) => d.offer(c)), [true, false, true, false])
})
