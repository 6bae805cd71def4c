import test from 'ava'
import { parseSearchArgs, resolveFilters, searchFlagSpecs, historyFlagSpecs } from '../../src/search/options.js'
import { feedCmdSql, filterClause, type FeedFilters } from '../../src/store/search.js'

const now = new Date('2026-03-10T12:00:00.000Z')

test('search arguments parse with globals anywhere', (t) => {
  const args = parseSearchArgs(['--query', 'git ', '--limit', '50', '--db-path', '/tmp/x.db', '--cwd', 'src', '--exit', '1', '--print0', '--filter', 'mk'])
  t.is(args.query, 'git ')
  t.is(args.limit, 50)
  t.is(args.filter, 'mk')
  t.true(args.print0)
  t.is(args.globals.dbPath, '/tmp/x.db')
  t.deepEqual(args.filters.cwd, 'src')
})

test('an unknown flag or a bad --limit is a usage error', (t) => {
  t.is(t.throws(() => parseSearchArgs(['--bogus']))?.name, 'UsageError')
  t.is(t.throws(() => parseSearchArgs(['--limit', '0']))?.name, 'UsageError')
  t.is(t.throws(() => parseSearchArgs(['--limit', 'many']))?.name, 'UsageError')
  t.is(t.throws(() => parseSearchArgs(['positional']))?.name, 'UsageError')
})

test('the fast path and the oclif commands share one flag list', (t) => {
  const names = searchFlagSpecs.map((s) => s.name)
  t.deepEqual(names, ['query', 'limit', 'mode', 'reload-state', 'reload-keep', 'filter', 'print0', 'cwd', 'host', 'device', 'exit', 'since', 'until', 'session', 'utc'])
  t.true(['cwd', 'host', 'device', 'exit', 'since', 'until', 'session', 'utc'].every((n) => historyFlagSpecs.some((s) => s.name === n)))
})

test('--session filters by the shell session, and without one says how to get it', (t) => {
  t.deepEqual(resolveFilters({ session: true }, new Date(), '/', 'zsh-1-2'), { sessionId: 'zsh-1-2' })
  const err = t.throws(() => resolveFilters({ session: true }, new Date(), '/'))
  t.is(err?.name, 'UsageError')
  t.regex(err?.message ?? '', /RUSTORY_SHELL_SESSION.*rr init/)
})

const resolveCases: Array<{ name: string, raw: Parameters<typeof resolveFilters>[0], want: FeedFilters }> = [
  { name: 'nothing', raw: {}, want: {} },
  { name: 'a relative --cwd resolves from the base', raw: { cwd: 'src' }, want: { cwd: '/work/src' } },
  { name: 'an absolute --cwd stays', raw: { cwd: '/etc/' }, want: { cwd: '/etc' } },
  { name: '--host and --device', raw: { host: 'h', device: 'd' }, want: { hostname: 'h', deviceId: 'd' } },
  { name: '--exit, also negative', raw: { exit: '-1' }, want: { exitCode: -1 } },
  { name: '--since relative and --until RFC3339', raw: { since: '1d', until: '2026-03-10T00:00:00+01:00' }, want: { since: '2026-03-09T12:00:00.000Z', until: '2026-03-09T23:00:00.000Z' } }
]
for (const c of resolveCases) {
  test(`filters resolve: ${c.name}`, (t) => {
    t.deepEqual(resolveFilters(c.raw, now, '/work'), c.want)
  })
}

test('--since after --until and a non-integer --exit are usage errors', (t) => {
  t.is(t.throws(() => resolveFilters({ since: '1h', until: '2d' }, now, '/'))?.name, 'UsageError')
  t.is(t.throws(() => resolveFilters({ exit: '1.5' }, now, '/'))?.name, 'UsageError')
})

const sqlCases: Array<{ name: string, filters: FeedFilters, after?: [string, string, string], sql: string, params: unknown[] }> = [
  { name: 'no filter', filters: {}, sql: '', params: [] },
  { name: 'since and until use the ts index range', filters: { since: 'A', until: 'B' }, sql: 'WHERE ts >= ? AND ts <= ?', params: ['A', 'B'] },
  { name: 'exact columns', filters: { cwd: '/x', hostname: 'h', deviceId: 'd', exitCode: 2 }, sql: 'WHERE cwd = ? AND hostname = ? AND device_id = ? AND exit_code = ?', params: ['/x', 'h', 'd', 2] },
  { name: 'exit 0 is a filter, not "unset"', filters: { exitCode: 0 }, sql: 'WHERE exit_code = ?', params: [0] },
  { name: 'an empty cwd (imported entries) is a filter', filters: { cwd: '' }, sql: 'WHERE cwd = ?', params: [''] },
  { name: 'keyset continuation', filters: { deviceId: 'd' }, after: ['t', 'd', 'e'], sql: 'WHERE device_id = ? AND (ts, device_id, entry_id) < (?, ?, ?)', params: ['d', 't', 'd', 'e'] }
]
for (const c of sqlCases) {
  test(`filter SQL: ${c.name}`, (t) => {
    t.deepEqual(filterClause(c.filters, c.after), { sql: c.sql, params: c.params })
  })
}

test('the feed query orders newest first by ts, device_id, entry_id', (t) => {
  t.regex(feedCmdSql({}).sql, /ORDER BY ts DESC, device_id DESC, entry_id DESC$/)
})
