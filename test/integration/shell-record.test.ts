/**
 * End to end: a real zsh and a real bash in tmux with `rr init` loaded; commands are typed like a user would, and
 * the rows are read back from the SQLite file the hook wrote through `rr record`.
 */
import test from 'ava'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { rrBin } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'
import { sleep, startShell } from '../helpers/tmux.js'
import { readCountersAt, readRows } from '../helpers/db.js'
import type { StoredEntry } from '../../src/core/entry.js'

// Background recordings may land in any order; ts is when each command started.
const rows = (dbPath: string): StoredEntry[] => readRows(dbPath, 'ts')
const counters = readCountersAt

async function waitForRows (dbPath: string, n: number, timeoutMs = 15_000): Promise<StoredEntry[]> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const found = rows(dbPath)
    if (found.length >= n || Date.now() > deadline) return found
    await sleep(50)
  }
}

for (const shell of ['zsh', 'bash'] as const) {
  test(`${shell}: the hook records what was typed, with cwd, exit code and duration, and skips what it must`, async (t) => {
    const sh = await startShell(t, shell)
    const multiLine = 'echo "first line\nsecond line"'
    await sh.run('false')
    await sh.run(multiLine)
    await sh.run(' echo typed-with-a-leading-space')
    await sh.run('echo AKIAIOSFODNN7EXAMPLQ')
    await sh.run('sleep 0.2')
    // Enter on an empty line, twice: nothing new is recorded.
    await sh.run('')
    await sh.run('')
    // The directory is the one the command started in, not where it ended.
    await sh.run('cd sub && sh -c "exit 3"')
    await sh.run('echo done-marker')

    const found = await waitForRows(sh.dbPath, 5)
    await sleep(300) // anything recorded twice would land by now
    const all = rows(sh.dbPath)
    t.deepEqual(all.map((r) => r.cmd), ['false', multiLine, 'sleep 0.2', 'cd sub && sh -c "exit 3"', 'echo done-marker'], JSON.stringify(found))
    const byCmd = new Map(all.map((r) => [r.cmd, r]))
    t.is(byCmd.get('false')!.exit_code, 1)
    t.is(byCmd.get('false')!.cwd, sh.work)
    t.is(byCmd.get(multiLine)!.exit_code, 0)
    t.true(byCmd.get('sleep 0.2')!.duration_ms >= 200, `duration ${byCmd.get('sleep 0.2')!.duration_ms}`)
    t.true(byCmd.get('sleep 0.2')!.duration_ms < 5000)
    t.true(byCmd.get('false')!.duration_ms < 5000)
    const cd = byCmd.get('cd sub && sh -c "exit 3"')!
    t.is(cd.exit_code, 3)
    t.is(cd.cwd, sh.work)
    t.is(byCmd.get('echo done-marker')!.cwd, join(sh.work, 'sub'))
    for (const r of all) {
      t.is(r.shell, shell)
      t.regex(r.entry_id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
    }
    t.false(all.some((r) => r.cmd.includes('leading-space') || r.cmd.includes('AKIA')))
    const c = counters(sh.dbPath)
    t.is(c['skipped.leading_space'], 1)
    t.is(c['skipped.secret_aws_access_key'], 1)
  })

  test(`${shell}: RUSTORY_HOOK_DISABLE=1 pauses recording and unsetting it resumes`, async (t) => {
    const sh = await startShell(t, shell)
    await sh.run('echo before-disable')
    await sh.run('export RUSTORY_HOOK_DISABLE=1')
    await sh.run('echo while-disabled')
    await sh.run('unset RUSTORY_HOOK_DISABLE')
    await sh.run('echo after-enable')
    await waitForRows(sh.dbPath, 3)
    await sleep(300)
    const cmds = rows(sh.dbPath).map((r) => r.cmd)
    t.deepEqual(cmds, ['echo before-disable', 'export RUSTORY_HOOK_DISABLE=1', 'unset RUSTORY_HOOK_DISABLE', 'echo after-enable'].filter((c) => c !== 'export RUSTORY_HOOK_DISABLE=1'))
  })
}

for (const shell of ['bash', 'zsh', 'fish'] as const) {
  test(`${shell}: the hook gives rr record the directory in its environment, never as an argument other users could read`, async (t) => {
    // RUSTORY_BIN: a wrapper that writes down the arguments `rr record` gets, then runs it.
    const dir = tempDir(t)
    const argvLog = join(dir, 'argv.log')
    const wrapper = join(dir, 'rr-wrapper')
    writeFileSync(wrapper, `#!/bin/sh\nprintf '%s\\n' "$*" >> ${JSON.stringify(argvLog)}\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(rrBin)} "$@"\n`, { mode: 0o755 })
    const preRc = shell === 'fish' ? `set -gx RUSTORY_BIN ${wrapper}` : `export RUSTORY_BIN=${wrapper}`
    const sh = await startShell(t, shell, '', preRc)
    mkdirSync(join(sh.work, 'dir-SECRET-olive'))
    await sh.run('cd dir-SECRET-olive')
    await sh.run('echo in-the-secret-dir')
    const found = await waitForRows(sh.dbPath, 2)
    const row = found.find((r) => r.cmd === 'echo in-the-secret-dir')
    t.is(row?.cwd, join(sh.work, 'dir-SECRET-olive'), JSON.stringify(found))
    const logged = readFileSync(argvLog, 'utf8')
    t.regex(logged, /record /, 'the wrapper saw the hook\'s calls')
    t.false(logged.includes('SECRET-olive'), logged)
  })
}
