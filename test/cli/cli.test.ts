import test from 'ava'
import { existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { maxCmdBytes, truncationMarker, type StoredEntry } from '../../src/core/entry.js'
import { isolatedEnv, repoRoot, rr } from '../helpers/cli.js'
import { readCountersAt, readRows } from '../helpers/db.js'
import { tempDir } from '../helpers/tmp.js'

const rows = (dbPath: string): StoredEntry[] => readRows(dbPath)
const counters = readCountersAt

test('--db-path works before the subcommand, as the spec writes it, and after it', async (t) => {
  const home = tempDir(t)
  const env = isolatedEnv(home)
  const before = join(home, 'before.db')
  const after = join(home, 'after.db')
  t.is((await rr(['--db-path', before, 'record', '--cmd', 'one'], { env })).code, 0)
  t.is((await rr(['record', '--cmd', 'two', '--db-path', after], { env })).code, 0)
  t.is((await rr([`--db-path=${after}`, 'record', '--cmd', 'three'], { env })).code, 0)
  t.deepEqual(rows(before).map((r) => r.cmd), ['one'])
  t.deepEqual(rows(after).map((r) => r.cmd), ['two', 'three'])
  t.false(existsSync(join(home, '.rustory', 'history.db')))
  // And through oclif: doctor reads the same file.
  const doctor = await rr(['--db-path', before, 'doctor', '--json'], { env })
  t.is(doctor.code, 0, doctor.stderr)
  t.is(JSON.parse(doctor.stdout).database.entries, 1)
})

test('rr record fills every field of the entry and prints the id with --print-id', async (t) => {
  const home = tempDir(t)
  const env = isolatedEnv(home, { RUSTORY_DEVICE_ID: 'dev-1', RUSTORY_USER_ID: 'user-1' })
  const r = await rr(['record', '--cmd', 'make test', '--cwd', '/src/app', '--exit-code', '2', '--duration-ms', '1234', '--shell', 'zsh', '--ts', '2026-05-06T07:08:09.010Z', '--print-id'], { env })
  t.is(r.code, 0, r.stderr)
  const [row] = rows(join(home, '.rustory', 'history.db'))
  t.is(r.stdout, `${row!.entry_id}\n`)
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }
  t.like(row, { cmd: 'make test', cwd: '/src/app', exit_code: 2, duration_ms: 1234, shell: 'zsh', ts: '2026-05-06T07:08:09.010Z', device_id: 'dev-1', user_id: 'user-1', version: pkg.version })
  t.regex(row!.entry_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  t.truthy(row!.hostname)
})

test('rr record --stdin takes the command whole (multi-line, larger than one argv string) and --ts takes Unix seconds', async (t) => {
  const home = tempDir(t)
  const env = isolatedEnv(home)
  const multi = 'for i in 1 2\ndo\n  echo "$i"\ndone'
  t.is((await rr(['record', '--stdin', '--ts', '1767225600.123456789'], { env, input: multi + '\n' })).code, 0)
  const big = 'echo ' + 'b'.repeat(200 * 1024)
  t.is((await rr(['record', '--stdin'], { env, input: big })).code, 0)
  const [first, second] = rows(join(home, '.rustory', 'history.db'))
  t.is(first!.cmd, multi)
  t.is(first!.ts, '2026-01-01T00:00:00.123Z')
  t.is(second!.cmd, big.slice(0, maxCmdBytes) + truncationMarker)
  t.is(counters(join(home, '.rustory', 'history.db')).truncated, 1)
})

test('rr record skips and counts: leading space, ignore regex (env and config), secrets', async (t) => {
  const home = tempDir(t)
  const dbPath = join(home, '.rustory', 'history.db')
  t.is((await rr(['record', '--cmd', ' hidden'], { env: isolatedEnv(home) })).code, 0)
  t.is((await rr(['record', '--cmd', 'ls -la'], { env: isolatedEnv(home, { RUSTORY_RECORD_IGNORE_REGEX: '^ls\\b' }) })).code, 0)
  const config = join(home, 'config.toml')
  writeFileSync(config, 'record_ignore_regex = "^cd "\n')
  t.is((await rr(['record', '--cmd', 'cd /tmp'], { env: isolatedEnv(home, { RUSTORY_CONFIG: config }) })).code, 0)
  t.is((await rr(['record', '--cmd', `export TOKEN=${'ghp_'}${'a'.repeat(36)}`], { env: isolatedEnv(home) })).code, 0)
  t.is((await rr(['record', '--cmd', 'ls -la'], { env: isolatedEnv(home) })).code, 0)
  t.deepEqual(rows(dbPath).map((r) => r.cmd), ['ls -la'])
  t.deepEqual(counters(dbPath), { 'skipped.leading_space': 1, 'skipped.ignore_regex': 2, 'skipped.secret_github_token': 1 })
  const doctor = JSON.parse((await rr(['doctor', '--json'], { env: isolatedEnv(home) })).stdout)
  t.deepEqual(doctor.recorder.skipped, { leading_space: 1, ignore_regex: 2, secret_github_token: 1 })
  t.is(doctor.recorder.skippedTotal, 4)
})

test('rr record never fails the shell: bad input exits 0 and leaves one line in ~/.rustory/record.log', async (t) => {
  const home = tempDir(t)
  const r = await rr(['record', '--cmd', 'x', '--exit-code', 'abc'], { env: isolatedEnv(home) })
  t.is(r.code, 0)
  t.is(r.stdout + r.stderr, '')
  const log = readFileSync(join(home, '.rustory', 'record.log'), 'utf8')
  t.is(log.trim().split('\n').length, 1)
  t.regex(log, /record failed: --exit-code must be an integer/)
  // A database path under a regular file cannot be created.
  writeFileSync(join(home, 'a-file'), '')
  const unwritable = await rr(['record', '--cmd', 'x', '--db-path', join(home, 'a-file', 'h.db')], { env: isolatedEnv(home) })
  t.is(unwritable.code, 0)
  t.is(unwritable.stdout + unwritable.stderr, '')
  t.regex(readFileSync(join(home, '.rustory', 'record.log'), 'utf8'), /a-file\/h\.db/)
})

test('rr --help lists the commands and the global options; rr record --help describes every flag', async (t) => {
  const env = isolatedEnv(tempDir(t))
  const help = await rr(['--help'], { env })
  t.is(help.code, 0)
  for (const cmd of ['record', 'init', 'doctor', 'search']) t.regex(help.stdout, new RegExp(`\\b${cmd}\\b`))
  const recordHelp = await rr(['record', '--help'], { env })
  t.is(recordHelp.code, 0)
  for (const flag of ['--cmd', '--stdin', '--cwd', '--exit-code', '--duration-ms', '--shell', '--ts', '--print-id', '--db-path']) {
    t.true(recordHelp.stdout.includes(flag), flag)
  }
  const beforeHelp = await rr(['--db-path', '/tmp/x.db', 'record', '--help'], { env })
  t.is(beforeHelp.code, 0)
  t.true(beforeHelp.stdout.includes('--duration-ms'))
  const doctorHelp = await rr(['doctor', '--help'], { env })
  t.true(doctorHelp.stdout.includes('--json'))
})

test('rr --version prints the package version', async (t) => {
  const pkg = JSON.parse(readFileSync(join(repoRoot, 'package.json'), 'utf8')) as { version: string }
  const r = await rr(['--version'], { env: isolatedEnv(tempDir(t)) })
  t.is(r.code, 0)
  t.true(r.stdout.includes(pkg.version), r.stdout)
})
