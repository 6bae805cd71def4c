/**
 * ctrl+r and recording as a user sees them, in a real bash, zsh and fish under tmux with the real fzf: rows with
 * exit status and age, the preview of a multi-line command, ctrl-r cycling the filter modes, a command killed with
 * its pane kept (exit status unknown), repeats kept whatever the history options say, and the shell's own search
 * when fzf is missing.
 */
import test from 'ava'
import { mkdirSync, readdirSync, readFileSync, symlinkSync } from 'node:fs'
import { join } from 'node:path'
import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { unknownExitCode } from '../../src/core/entry.js'
import { rr } from '../helpers/cli.js'
import { readRows } from '../helpers/db.js'
import { sleep, startShell, type Shell, type ShellFixture } from '../helpers/tmux.js'

const shells: Shell[] = ['bash', 'zsh', 'fish']
const fzfOpen = (screen: string): boolean => /\b\d+\/\d+\b/.test(screen)
/** fzf has read all of its input (no spinner before the match count): after a reload, the list is the new one. */
const loaded = (screen: string): boolean => fzfOpen(screen) && !/[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏]\s*\d+\/\d+/.test(screen)

async function waitForRows (sh: ShellFixture, test: (cmds: string[]) => boolean, timeoutMs = 30_000): Promise<ReturnType<typeof readRows>> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const rows = readRows(sh.dbPath)
    if (test(rows.map((r) => r.cmd))) return rows
    if (Date.now() > deadline) throw new Error(`rows never matched; have ${JSON.stringify(rows.map((r) => [r.cmd, r.exit_code]))}`)
    await sleep(100)
  }
}

/** The commands of the pending records (started, not ended) in a spool's pending/ directory. */
function pendingCommands (dir: string): string[] {
  const cmds: string[] = []
  let names: string[]
  try { names = readdirSync(dir) } catch { return cmds }
  for (const name of names.filter((n) => n.endsWith('.json'))) {
    try {
      cmds.push((JSON.parse(readFileSync(join(dir, name), 'utf8')) as { entry: { cmd: string } }).entry.cmd)
    } catch {} // ended (removed) while we looked
  }
  return cmds
}

for (const shell of shells) {
  test(`${shell}: ctrl+r rows show exit status and age, the preview shows a multi-line command whole, and ctrl-r cycles the filter modes`, async (t) => {
    const sh = await startShell(t, shell)
    const record = async (args: string[]): Promise<void> => {
      const r = await rr(['record', '--cwd', '/elsewhere', '--shell', shell, ...args], { env: sh.env })
      t.is(r.code, 0, r.stderr)
    }
    // Another shell's commands: one failed, one multi-line (the newest, so the cursor starts on it).
    await record(['--cmd', 'echo from-another-session', '--exit-code', '3', '--session-id', 'other-1', '--ts', new Date(Date.now() - 3 * 3600_000).toISOString()])
    await sh.run('echo quokka-this-session')
    await waitForRows(sh, (cmds) => cmds.includes('echo quokka-this-session'))
    await record(['--cmd', 'printf "%s\\n" \\\n  first-line-of-many \\\n  last-line-of-many', '--exit-code', '0', '--session-id', 'other-1', '--duration-ms', '1500'])

    await sh.tmux.keys('C-r')
    // fzf draws the list before the preview (a process of its own) answers: wait for both.
    const global = await sh.tmux.waitFor((s) => loaded(s) && s.includes('GLOBAL') && s.includes('last-line-of-many') && /exit:\s+0/.test(s) && s.includes('directory: /elsewhere'))
    t.regex(global, /\s3h ✗ 3\s.*echo from-another-session/, 'a failed command shows its age and exit status')
    t.regex(global, /\s\d+[sm] ✓\s+1\.5s\s/, 'a success shows ✓ and its duration')
    // The preview: metadata, then the command's lines one under the other.
    t.regex(global, /exit:\s+0/)
    t.regex(global, /directory: \/elsewhere/)
    t.regex(global, /first-line-of-many[^\n]*\n[^\n]*last-line-of-many/)
    t.true(global.includes('echo quokka-this-session'))

    await sh.tmux.keys('C-r')
    await sh.tmux.waitFor((s) => loaded(s) && s.includes('HOST (this host)'))
    await sh.tmux.keys('C-r')
    // fzf shows the new header before the reloaded list arrives: wait for the list itself (a filter that lets the other
    // session's command through never gets there, and the wait fails the test).
    const session = await sh.tmux.waitFor((s) => loaded(s) && s.includes('SESSION (this session)') && s.includes('echo quokka-this-session') && !s.includes('echo from-another-session'))
    t.false(session.includes('echo from-another-session'), `session mode lists only this shell's commands:\n${session}`)
    await sh.tmux.keys('C-r')
    const directory = await sh.tmux.waitFor((s) => loaded(s) && s.includes('DIRECTORY (this directory)') && s.includes('echo quokka-this-session') && !s.includes('echo from-another-session'))
    t.true(directory.includes('echo quokka-this-session'))
    t.false(directory.includes('echo from-another-session'), 'directory mode lists only commands run here')
    await sh.tmux.keys('C-r')
    const back = await sh.tmux.waitFor((s) => loaded(s) && s.includes('GLOBAL') && s.includes('echo from-another-session'))
    t.true(back.includes('echo from-another-session'))
    await sh.tmux.keys('Escape')
    await sh.tmux.waitFor((s) => !fzfOpen(s))
  })

  test(`${shell}: ctrl+r keeps the typed line out of the process list, where other users could read it`, async (t) => {
    const sh = await startShell(t, shell)
    // Its own marker: the tests of the other shells run meanwhile, typing theirs with `tmux send-keys`.
    const secret = `typed-SECRET-${randomBytes(6).toString('hex')}`
    const r = await rr(['record', '--cwd', '/elsewhere', '--shell', shell, '--cmd', `echo ${secret} and more`, '--exit-code', '0'], { env: sh.env })
    t.is(r.code, 0, r.stderr)
    await sh.tmux.type(secret)
    await sh.tmux.keys('C-r')
    // fzf is open with the typed line as its query, and the preview of the row it matched is drawn.
    const screen = await sh.tmux.waitFor((s) => loaded(s) && / 1\/\d+/.test(s) && s.includes('directory: /elsewhere'))
    t.true(screen.includes(`> ${secret}`) || new RegExp(`>\\s*${secret}`).test(screen), `the query is the typed line:\n${screen}`)
    const leaks: string[] = []
    for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
      try {
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
        if (argv.includes(secret)) leaks.push(`${pid}: ${argv.replace(/\0/g, ' ')}`)
      } catch {} // gone meanwhile
    }
    t.deepEqual(leaks, [], 'no process carries the typed line in its arguments')
    await sh.tmux.keys('Escape')
    await sh.tmux.waitFor((s) => !fzfOpen(s))
  })

  test(`${shell}: repeats are recorded whatever the history options say, and a command killed with its pane is kept with an unknown exit status`, async (t) => {
    const preRc = shell === 'bash' ? 'HISTCONTROL=ignoreboth' : shell === 'zsh' ? 'setopt HIST_IGNORE_DUPS' : ''
    const sh = await startShell(t, shell, '', preRc)
    await sh.run('echo repeat-me')
    await sh.run('echo repeat-me')
    await sh.run('false')
    await waitForRows(sh, (cmds) => cmds.filter((c) => c === 'echo repeat-me').length === 2 && cmds.includes('false'))
    if (shell === 'bash') {
      // The user's ignoredups still keeps bash's own history list free of the repeat.
      const out = join(sh.home, 'hist-count')
      await sh.run(`history | grep -c 'echo repeat[-]me$' > ${out}`)
      t.is(readFileSync(out, 'utf8').trim(), '1')
    }
    await sh.tmux.type('sleep 600')
    await sh.tmux.keys('Enter')
    // Its start is recorded (a pending file in the spool) before the pane goes. Its own: under load an earlier
    // command's start can still be on its way there, and killing the pane then would lose a command never started.
    const pending = join(`${sh.dbPath}-spool`, 'pending')
    const deadline = Date.now() + 30_000
    while (!pendingCommands(pending).includes('sleep 600')) {
      if (Date.now() > deadline) throw new Error(`no pending record for the running command; have ${JSON.stringify(pendingCommands(pending))}`)
      await sleep(100)
    }
    await sh.tmux.kill()
    const rows = await waitForRows(sh, (cmds) => cmds.includes('sleep 600'), 90_000)
    const killed = rows.find((r) => r.cmd === 'sleep 600')!
    t.is(killed.exit_code, unknownExitCode)
    t.is(rows.filter((r) => r.cmd === 'echo repeat-me').length, 2)
    t.is(rows.find((r) => r.cmd === 'false')!.exit_code, 1)
    // Each command once (its start and its end share one entry_id), in the order they ran.
    const byTs = [...rows].sort((a, b) => (a.ts < b.ts ? -1 : 1)).map((r) => r.cmd).filter((c) => !c.startsWith('history'))
    t.deepEqual(byTs, ['echo repeat-me', 'echo repeat-me', 'false', 'sleep 600'])
  })

  test(`${shell}: without fzf, ctrl+r is the shell's own search and says once how to install fzf`, async (t) => {
    // A PATH with what the shell needs and no fzf.
    const bin = join(process.env.TMPDIR ?? '/tmp', `rr-nofzf-${process.pid}-${shell}-${Date.now()}`)
    mkdirSync(bin, { recursive: true })
    for (const tool of ['bash', 'zsh', 'fish', 'sleep', 'cat', 'mv', 'ls']) {
      symlinkSync(execFileSync('sh', ['-c', `command -v ${tool}`]).toString().trim(), join(bin, tool))
    }
    t.teardown(() => execFileSync('rm', ['-rf', bin]))
    const sh = await startShell(t, shell, '', shell === 'fish' ? `set -gx PATH ${bin}` : `PATH=${bin}`)
    await sh.run('echo findme-without-fzf')
    await sh.tmux.keys('C-r')
    const own = shell === 'bash' ? /\(reverse-i-search\)/ : shell === 'zsh' ? /bck-i-search/ : /search:|History/i
    const first = await sh.tmux.waitFor((s) => own.test(s) && s.includes('needs fzf'))
    t.regex(first, /apt install fzf/)
    await sh.tmux.type('findme')
    await sh.tmux.waitFor((s) => (s.match(/findme-without-fzf/g) ?? []).length >= 2)
    await sh.tmux.keys('C-g')
    await sh.tmux.keys('C-c')
    await sleep(300)
    await sh.tmux.keys('C-r')
    await sh.tmux.waitFor(own)
    t.is((await sh.tmux.screen()).match(/needs fzf/g)?.length ?? 0, 1, 'the hint is said once')
  })
}
