/**
 * `rr search --filter`, `rr history` and `rr stats` through the real bin/rr on real SQLite files; `rr search`
 * with no fzf on PATH; `rr search` alone in tmux with the real fzf.
 */
import test from 'ava'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { isolatedEnv, rr, rrBin } from '../helpers/cli.js'
import { sleep, startTmux } from '../helpers/tmux.js'
import { dbWith, entry, records } from './fixtures.js'
import { openDatabase } from '../../src/store/db.js'
import { insertEntries } from '../../src/store/entries.js'

const multi = 'for f in *.log; do\n  gzip "$f"\ndone'

/** Newest last in this list; ts one minute apart from 2026-01-01T00:00Z. */
function fixtureEntries (): ReturnType<typeof entry>[] {
  const rows: Array<Partial<ReturnType<typeof entry>> & { cmd: string }> = [
    { cmd: 'make build', cwd: '/src/app', exit_code: 2, hostname: 'laptop', device_id: 'lap' },
    { cmd: 'git status', cwd: '/src/app', hostname: 'laptop', device_id: 'lap' },
    { cmd: multi, cwd: '/var/log', hostname: 'server', device_id: 'srv' },
    { cmd: 'make build', cwd: '/src/app', hostname: 'laptop', device_id: 'lap' },
    { cmd: 'docker ps', cwd: '/', hostname: 'server', device_id: 'srv', exit_code: 1 },
    { cmd: 'echo café', cwd: '/src/app', hostname: 'laptop', device_id: 'lap' }
  ]
  return rows.map((r, i) => entry({ ...r, ts: new Date(Date.UTC(2026, 0, 1, 0, i)).toISOString() }))
}

async function filter (t: Parameters<typeof dbWith>[0], args: string[]): Promise<string> {
  const { dbPath, dir } = dbWith(t, fixtureEntries())
  const r = await rr(['--db-path', dbPath, 'search', ...args], { env: isolatedEnv(dir) })
  t.is(r.code, 0, r.stderr)
  return r.stdout
}

const filterCases: Array<{ name: string, args: string[], want: string[] }> = [
  { name: 'an empty query lists every distinct command, newest first', args: ['--filter', ''], want: ['echo café', 'docker ps', 'make build', multi, 'git status'] },
  { name: 'a fuzzy query', args: ['--filter', 'mkbld'], want: ['make build'] },
  { name: 'an exact term matches inside a multi-line command', args: ['--filter', "'gzip"], want: [multi] },
  { name: '--cwd', args: ['--filter', '', '--cwd', '/src/app'], want: ['echo café', 'make build', 'git status'] },
  { name: '--host', args: ['--filter', '', '--host', 'server'], want: ['docker ps', multi] },
  { name: '--device', args: ['--filter', '', '--device', 'lap'], want: ['echo café', 'make build', 'git status'] },
  { name: '--exit picks the failed use, not the most recent one', args: ['--filter', '', '--exit', '2'], want: ['make build'] },
  { name: '--exit 0', args: ['--filter', '', '--exit', '0'], want: ['echo café', 'make build', multi, 'git status'] },
  { name: '--since (RFC3339)', args: ['--filter', '', '--since', '2026-01-01T00:03:00Z'], want: ['echo café', 'docker ps', 'make build'] },
  { name: '--until (RFC3339)', args: ['--filter', '', '--until', '2026-01-01T00:01:00Z'], want: ['git status', 'make build'] },
  { name: '--since relative excludes everything older', args: ['--filter', '', '--since', '7d'], want: [] },
  { name: '--until relative includes everything older', args: ['--filter', '', '--until', '1h'], want: ['echo café', 'docker ps', 'make build', multi, 'git status'] },
  { name: '--limit caps the list the query runs on', args: ['--filter', 'make', '--limit', '2'], want: [] },
  { name: 'filters combine', args: ['--filter', 'e', '--host', 'laptop', '--since', '2026-01-01T00:02:00Z'], want: ['echo café', 'make build'] }
]

for (const c of filterCases) {
  test(`rr search --filter: ${c.name}`, async (t) => {
    const out = await filter(t, [...c.args, '--print0'])
    t.deepEqual(records(out), c.want)
  })
}

test('rr search --filter prints one command per line without --print0', async (t) => {
  t.is(await filter(t, ['--filter', "'git"]), 'git status\n')
  t.is(await filter(t, ['--filter', 'nothing-matches-this']), '')
})

test('rr search with no fzf on PATH says how to install it and exits 2; --filter still works', async (t) => {
  const { dbPath, dir } = dbWith(t, fixtureEntries())
  const env = isolatedEnv(dir, { PATH: join(dir, 'empty-bin') })
  const r = await rr(['--db-path', dbPath, 'search', '--query', 'x'], { env })
  t.is(r.code, 2)
  t.is(r.stdout, '')
  t.regex(r.stderr, /fzf not found/)
  t.regex(r.stderr, /apt-get install fzf/)
  t.regex(r.stderr, /brew install fzf/)
  const f = await rr(['--db-path', dbPath, 'search', '--filter', "'docker"], { env })
  t.is(f.code, 0, f.stderr)
  t.is(f.stdout, 'docker ps\n')
})

test('rr search rejects a bad flag value with exit 2', async (t) => {
  const { dbPath, dir } = dbWith(t, [])
  const r = await rr(['--db-path', dbPath, 'search', '--filter', '', '--since', 'last tuesday'], { env: isolatedEnv(dir) })
  t.is(r.code, 2)
  t.regex(r.stderr, /--since "last tuesday"/)
})

test('rr history lists every entry newest first, as text and as JSON Lines, with filters', async (t) => {
  const { dbPath, dir } = dbWith(t, fixtureEntries())
  const env = isolatedEnv(dir)
  const text = await rr(['--db-path', dbPath, 'history', '--limit', '3', '--utc'], { env })
  t.is(text.code, 0, text.stderr)
  t.is(text.stdout, '2026-01-01 00:05:00Z  echo café\n2026-01-01 00:04:00Z  docker ps\n2026-01-01 00:03:00Z  make build\n')
  // Without --utc: local time, with its offset.
  const local = await rr(['--db-path', dbPath, 'history', '--limit', '1'], { env: { ...env, TZ: 'Asia/Kolkata' } })
  t.is(local.stdout, '2026-01-01 05:35:00 +05:30  echo café\n')
  const jsonl = await rr(['--db-path', dbPath, 'history', '--format', 'jsonl', '--cwd', '/src/app'], { env })
  t.is(jsonl.code, 0, jsonl.stderr)
  const rows = jsonl.stdout.trim().split('\n').map((l) => JSON.parse(l) as { cmd: string, exit_code: number })
  t.deepEqual(rows.map((r) => r.cmd), ['echo café', 'make build', 'git status', 'make build'])
  t.is(rows[3]!.exit_code, 2)
  const lines = await rr(['--db-path', dbPath, 'history', '--host', 'server', '--exit', '0', '--utc'], { env })
  t.is(lines.stdout, '2026-01-01 00:02:00Z  for f in *.log; do\n' + ' '.repeat(24) + 'gzip "$f"\n' + ' '.repeat(22) + 'done\n')
  const bad = await rr(['--db-path', dbPath, 'history', '--format', 'xml'], { env })
  t.not(bad.code, 0)
})

test('rr stats reports totals, devices, top commands, directories and the failure rate', async (t) => {
  const { dbPath, dir } = dbWith(t, fixtureEntries())
  const r = await rr(['--db-path', dbPath, 'stats', '--json'], { env: isolatedEnv(dir) })
  t.is(r.code, 0, r.stderr)
  const s = JSON.parse(r.stdout)
  t.is(s.total, 6)
  t.is(s.failed, 2)
  t.is(s.failureRate, 2 / 6)
  t.deepEqual(s.devices.map((d: { deviceId: string, count: number }) => [d.deviceId, d.count]), [['lap', 4], ['srv', 2]])
  t.deepEqual(s.topCommands[0], { cmd: 'make build', count: 2 })
  t.deepEqual(s.topDirectories[0], { cwd: '/src/app', count: 4 })
  const text = await rr(['--db-path', dbPath, 'stats'], { env: isolatedEnv(dir) })
  t.regex(text.stdout, /total: 6 entries/)
  t.regex(text.stdout, /failure rate: 33\.3%/)
  const empty = await rr(['--db-path', join(dir, 'none.db'), 'stats', '--json'], { env: isolatedEnv(dir) })
  t.is(JSON.parse(empty.stdout).total, 0)
})

test('rr stats shows each device\'s newest entry, not its last inserted one (an old import comes last)', async (t) => {
  const { dbPath, dir } = dbWith(t, fixtureEntries())
  const db = openDatabase(dbPath)
  insertEntries(db, [{ ...fixtureEntries()[0]!, entry_id: '00000000-0000-4000-8000-000000000001', ts: '2018-03-01T10:00:00.000Z', cmd: 'imported long ago' }])
  db.close()
  const r = await rr(['--db-path', dbPath, 'stats', '--json'], { env: isolatedEnv(dir) })
  const s = JSON.parse(r.stdout) as { devices: Array<{ deviceId: string, lastTs: string }> }
  const newest = (device: string): string => fixtureEntries().filter((e) => e.device_id === device).map((e) => e.ts).sort().at(-1)!
  t.deepEqual(s.devices.map((d) => [d.deviceId, d.lastTs]), s.devices.map((d) => [d.deviceId, newest(d.deviceId)]))
  const text = await rr(['--db-path', dbPath, 'stats', '--utc'], { env: isolatedEnv(dir) })
  t.regex(text.stdout, new RegExp(`newest ${newest(fixtureEntries()[0]!.device_id).slice(0, 10)} `))
})

/** rr search alone in tmux with the real fzf: stdout goes to a file, exactly. */
async function interactive (t: Parameters<typeof dbWith>[0], query: string, typed: string, key: string): Promise<{ out: string, code: string }> {
  const { dbPath, dir } = dbWith(t, fixtureEntries())
  const env = isolatedEnv(dir, { TERM: 'xterm-256color', LANG: 'C.UTF-8' })
  delete env.TMUX
  delete env.FZF_DEFAULT_OPTS
  const out = join(dir, 'out')
  const rc = join(dir, 'rc')
  const script = `"${process.execPath}" "${rrBin}" --db-path "${dbPath}" search --query "${query}" > "${out}"; echo $? > "${rc}"; sleep 30`
  const tmux = await startTmux(t, { command: ['sh', '-c', script], env, cwd: dir, width: 100, height: 30 })
  await tmux.waitFor(/\b\d+\/5\b/)
  if (typed !== '') await tmux.type(typed)
  await tmux.waitFor(/\b1\/5\b/)
  await tmux.keys(key)
  const deadline = Date.now() + 15_000
  while (!existsSync(rc) || readFileSync(rc, 'utf8') === '') {
    if (Date.now() > deadline) throw new Error(`rr search did not exit:\n${await tmux.screen()}`)
    await sleep(30)
  }
  return { out: readFileSync(out, 'utf8'), code: readFileSync(rc, 'utf8').trim() }
}

test('rr search in a terminal: Enter prints the chosen multi-line command exactly and exits 0', async (t) => {
  const { out, code } = await interactive(t, 'gzip', ' done', 'Enter')
  t.is(code, '0')
  t.is(out, multi)
})

test('rr search in a terminal: Esc prints nothing and exits 130', async (t) => {
  const { out, code } = await interactive(t, "'docker", '', 'Escape')
  t.is(code, '130')
  t.is(out, '')
})
