/**
 * Pending records: a command's start (`rr record --start`) waits in `pending/` until its end replaces it; one whose
 * shell is gone becomes an entry with an unknown exit status at the next drain; an end that comes before its start
 * leaves a mark so the late start writes nothing.
 */
import test from 'ava'
import { spawn, spawnSync } from 'node:child_process'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { unknownExitCode } from '../../src/core/entry.js'
import { record } from '../../src/record.js'
import { drainSpoolFor } from '../../src/store/db.js'
import { pendingDir, spoolDirOf } from '../../src/store/spool-files.js'
import { readRows } from '../helpers/db.js'
import { tempDir } from '../helpers/tmp.js'

const id = (n: number): string => `00000000-0000-4000-8000-${String(n).padStart(12, '0')}`

/** The pid of a process that has exited. */
function deadPid (): number {
  const r = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' })
  return Number(r.stdout)
}

function setup (t: Parameters<typeof tempDir>[0]): { dbPath: string, pending: string, rec: (args: string[]) => void } {
  const dbPath = join(tempDir(t), 'history.db')
  const pending = join(spoolDirOf(dbPath)!, pendingDir)
  return { dbPath, pending, rec: (args) => { record(['--db-path', dbPath, '--shell', 'zsh', '--cwd', '/tmp', ...args]) } }
}

test('a started command whose shell is gone is stored with an unknown exit status; one whose shell lives waits', (t) => {
  const { dbPath, pending, rec } = setup(t)
  const gone = deadPid()
  rec(['--start', '--cmd', 'sleep 600', '--entry-id', id(1), '--pid', String(gone), '--ts', '1700000000.5'])
  rec(['--start', '--cmd', 'vim notes', '--entry-id', id(2), '--pid', String(process.pid)])
  t.is(readdirSync(pending).length, 2)
  drainSpoolFor(dbPath)
  const rows = readRows(dbPath)
  t.deepEqual(rows.map((r) => [r.entry_id, r.cmd, r.exit_code, r.ts]), [[id(1), 'sleep 600', unknownExitCode, '2023-11-14T22:13:20.500Z']])
  t.deepEqual(readdirSync(pending), [`${process.pid}-${id(2)}.json`], 'the live shell\'s command still waits')
})

test('a shell that was killed and never reaped (a zombie: nothing waits for it) counts as gone', async (t) => {
  // `sleep 0.1` is the zombie: its parent execs into a sleep that never waits for it.
  const parent = spawn('sh', ['-c', 'sleep 0.1 & echo $!; exec sleep 30'], { stdio: ['ignore', 'pipe', 'ignore'] })
  t.teardown(() => parent.kill())
  const zombie = Number(await new Promise<string>((resolve) => parent.stdout.once('data', (d: Buffer) => resolve(d.toString()))))
  const state = (): string => { const s = readFileSync(`/proc/${zombie}/stat`, 'latin1'); return s.slice(s.lastIndexOf(')') + 2, s.lastIndexOf(')') + 3) }
  const deadline = Date.now() + 10_000
  while (state() !== 'Z') {
    if (Date.now() > deadline) throw new Error(`pid ${zombie} never became a zombie (state ${state()})`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  t.notThrows(() => process.kill(zombie, 0), 'a zombie still answers signal 0')
  const { dbPath, pending, rec } = setup(t)
  rec(['--start', '--cmd', 'sleep 600', '--entry-id', id(9), '--pid', String(zombie)])
  drainSpoolFor(dbPath)
  t.deepEqual(readRows(dbPath).map((r) => [r.cmd, r.exit_code]), [['sleep 600', unknownExitCode]])
  t.deepEqual(readdirSync(pending), [])
})

test('the end of a command replaces its start: one entry, with the real exit status, even when its shell is gone later', (t) => {
  const { dbPath, pending, rec } = setup(t)
  const pid = deadPid()
  rec(['--start', '--cmd', 'make', '--entry-id', id(3), '--pid', String(pid)])
  rec(['--cmd', 'make', '--entry-id', id(3), '--pid', String(pid), '--exit-code', '2', '--duration-ms', '1500'])
  t.deepEqual(readdirSync(pending), [])
  drainSpoolFor(dbPath)
  t.deepEqual(readRows(dbPath).map((r) => [r.entry_id, r.exit_code, r.duration_ms]), [[id(3), 2, 1500]])
})

test('an end that comes before its start (two background processes) leaves a mark, and the late start writes nothing', (t) => {
  const { dbPath, pending, rec } = setup(t)
  rec(['--start', '--cmd', 'warm up', '--entry-id', id(9), '--pid', String(process.pid)]) // pending/ exists from here on
  const pid = deadPid()
  rec(['--cmd', 'ls', '--entry-id', id(4), '--pid', String(pid), '--exit-code', '0'])
  t.true(existsSync(join(pending, `${pid}-${id(4)}.done`)))
  rec(['--start', '--cmd', 'ls', '--entry-id', id(4), '--pid', String(pid)])
  t.false(existsSync(join(pending, `${pid}-${id(4)}.json`)), 'the late start is not written')
  t.false(existsSync(join(pending, `${pid}-${id(4)}.done`)), 'and the mark is used up')
  drainSpoolFor(dbPath)
  t.deepEqual(readRows(dbPath).map((r) => [r.entry_id, r.exit_code]), [[id(4), 0]])
})

test('a start that lost the race and stayed is stored once, as completed, after its shell is gone', (t) => {
  const { dbPath, pending, rec } = setup(t)
  const pid = deadPid()
  // The end first, before pending/ exists (no mark possible), then the start.
  rec(['--cmd', 'git push', '--entry-id', id(5), '--pid', String(pid), '--exit-code', '1'])
  rec(['--start', '--cmd', 'git push', '--entry-id', id(5), '--pid', String(pid)])
  t.true(existsSync(join(pending, `${pid}-${id(5)}.json`)))
  drainSpoolFor(dbPath)
  t.deepEqual(readRows(dbPath).map((r) => [r.entry_id, r.exit_code]), [[id(5), 1]])
})

test('--entry-id must be a UUID and --start needs --pid', (t) => {
  const { rec } = setup(t)
  t.throws(() => rec(['--start', '--cmd', 'x', '--entry-id', 'nope', '--pid', '1']), { message: /--entry-id must be a UUID/ })
  t.throws(() => rec(['--start', '--cmd', 'x']), { message: /--start needs --pid/ })
})
