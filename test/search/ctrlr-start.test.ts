/**
 * What ctrl+r does before its first screen, through the real bin/rr: the spool is drained only when it holds
 * something (and only then is the database's write side loaded), fzf's version is asked once per fzf binary, and
 * fzf, started before the database is opened, is closed again when the open fails. A stand-in fzf on PATH logs how
 * it was called; the real fzf in a terminal is in cli.test.ts and test/integration/shell-*.test.ts.
 */
import test from 'ava'
import { spawnSync } from 'node:child_process'
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { record } from '../../src/record.js'
import { drainSpoolFor } from '../../src/store/db.js'
import { spoolWaiting } from '../../src/store/search-open.js'
import { rejectedDir, spoolDirOf } from '../../src/store/spool-files.js'
import { isolatedEnv, rr } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'
import { dbWith, entry } from './fixtures.js'

const id = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`

/** The pid of a process that has exited. */
function deadPid (): number {
  return Number(spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' }).stdout)
}

test('spoolWaiting: nothing for a missing spool, a live shell\'s start or rejected files; something for a file to move or a dead shell\'s start', (t) => {
  const dbPath = join(tempDir(t), 'history.db')
  const rec = (args: string[]): void => { record(['--db-path', dbPath, '--shell', 'zsh', '--cwd', '/tmp', ...args]) }
  t.false(spoolWaiting(dbPath), 'no spool directory')
  rec(['--start', '--cmd', 'vim notes', '--entry-id', id(1), '--pid', String(process.pid)])
  mkdirSync(join(spoolDirOf(dbPath)!, rejectedDir), { recursive: true })
  writeFileSync(join(spoolDirOf(dbPath)!, rejectedDir, 'bad.json'), '{')
  t.false(spoolWaiting(dbPath), 'a running command and a rejected file wait for nothing')
  rec(['--start', '--cmd', 'sleep 600', '--entry-id', id(2), '--pid', String(deadPid())])
  t.true(spoolWaiting(dbPath), 'the start of a shell that is gone')
  drainSpoolFor(dbPath)
  t.false(spoolWaiting(dbPath), 'drained')
  rec(['--cmd', 'make', '--exit-code', '0'])
  t.true(spoolWaiting(dbPath), 'a recorded command')
})

test('rr search drains a waiting spool first, loading the write side only then', async (t) => {
  const { dbPath, dir } = dbWith(t, [entry({ cmd: 'old one', ts: '2026-01-01T00:00:00.000Z' })])
  const env = isolatedEnv(dir, { NODE_DEBUG: 'module' })
  const writeSide = /load "[^"]*\/dist\/src\/store\/db\.js"/
  const quiet = await rr(['--db-path', dbPath, 'search', '--filter', ''], { env })
  t.is(quiet.stdout, 'old one\n')
  t.notRegex(quiet.stderr, writeSide, 'nothing waited: db.js (migrations, drain, libsodium) stays unloaded')
  t.notRegex(quiet.stderr, /sodium-native/)
  record(['--db-path', dbPath, '--shell', 'zsh', '--cwd', '/tmp', '--cmd', 'just ran', '--exit-code', '0'])
  const drained = await rr(['--db-path', dbPath, 'search', '--filter', ''], { env })
  t.is(drained.stdout, 'just ran\nold one\n', 'the command recorded a moment ago is listed')
  t.regex(drained.stderr, writeSide)
  t.false(spoolWaiting(dbPath))
})

/** A stand-in fzf: logs `--version` calls and its arguments, takes its input until EOF (or SIGTERM), exits 130. */
function fakeFzf (dir: string, version: string): { bin: string, log: string } {
  const bin = join(dir, 'bin')
  mkdirSync(bin, { recursive: true })
  const log = join(dir, 'fzf.log')
  writeFileSync(join(bin, 'fzf'), `#!/bin/sh
if [ "$1" = --version ]; then echo version >> '${log}'; echo '${version}'; exit 0; fi
printf 'run %s\\n' "$*" >> '${log}'
trap 'echo TERM >> "${log}"; exit 130' TERM
exec 3<&0
cat <&3 > '${join(dir, 'fzf.in')}' &
wait
exit 130
`)
  chmodSync(join(bin, 'fzf'), 0o755)
  return { bin, log }
}

test('fzf --version is asked once per fzf binary: remembered in the data directory, asked again when fzf changes', async (t) => {
  const { dbPath, dir } = dbWith(t, [entry({ cmd: 'ls', ts: '2026-01-01T00:00:00.000Z' })])
  const { bin, log } = fakeFzf(dir, '0.38.0 (debian)')
  const env = isolatedEnv(dir, { PATH: `${bin}:${process.env.PATH ?? ''}` })
  const lines = (): string[] => readFileSync(log, 'utf8').trim().split('\n')
  for (let i = 0; i < 2; i++) t.is((await rr(['--db-path', dbPath, 'search'], { env })).code, 130)
  t.deepEqual(lines().filter((l) => l === 'version'), ['version'], 'asked once for two searches')
  t.true(lines().filter((l) => l.startsWith('run ')).every((l) => l.includes('--scheme=history')))
  t.true(existsSync(join(dir, '.rustory', 'fzf-version.json')))
  t.true(readFileSync(join(dir, 'fzf.in'), 'utf8').includes('ls'), 'fzf got the feed')
  fakeFzf(dir, '0.30.0') // another fzf in the same place (fzf < 0.33 has no --scheme)
  t.is((await rr(['--db-path', dbPath, 'search'], { env })).code, 130)
  t.is(lines().filter((l) => l === 'version').length, 2, 'asked again for the new binary')
  t.false(lines().at(-1)!.includes('--scheme'), 'and its answer is used')
})

test('rr search closes the fzf it started when the database cannot be opened, and says why', async (t) => {
  const dir = tempDir(t)
  const dbPath = join(dir, 'history.db')
  writeFileSync(dbPath, 'not a database '.repeat(100))
  const { bin, log } = fakeFzf(dir, '0.38.0 (debian)')
  const r = await rr(['--db-path', dbPath, 'search'], { env: isolatedEnv(dir, { PATH: `${bin}:${process.env.PATH ?? ''}` }), timeoutMs: 20_000 })
  t.is(r.code, 1)
  t.regex(r.stderr, /is not a SQLite database or is corrupt/)
  t.true(readFileSync(log, 'utf8').includes('TERM'), 'fzf was told to go')
})
