/**
 * ctrl-d in ctrl+r, end to end: a real zsh in tmux, the hook's widget, the real `rr search` and fzf. The key is in
 * fzf's header; it asks on the terminal, deletes every use of the highlighted command through tombstones, and the
 * list reloads without it.
 */
import test from 'ava'
import { rr } from '../helpers/cli.js'
import { startShell } from '../helpers/tmux.js'
import Database from 'better-sqlite3'

const fzfOpen = (screen: string): boolean => /\b\d+\/\d+\b/.test(screen)

test('zsh: ctrl-d in ctrl+r asks, then deletes the highlighted command everywhere and reloads the list', async (t) => {
  const sh = await startShell(t, 'zsh')
  const commands = ['echo keep-alpha', 'echo doomed-beta', 'echo keep-gamma', 'echo doomed-beta']
  for (const [i, cmd] of commands.entries()) {
    const r = await rr(['record', '--cmd', cmd, '--cwd', sh.work, '--exit-code', '0', '--shell', 'zsh', '--ts', `2026-01-01T00:00:0${i}.000Z`], { env: sh.env })
    t.is(r.code, 0)
  }
  await sh.tmux.keys('C-r')
  const opened = await sh.tmux.waitFor((s) => fzfOpen(s) && /\b3\/3\b/.test(s))
  t.regex(opened, /ctrl-d: delete the highlighted command on every device \(asks first\)/)
  await sh.tmux.type('doomed')
  await sh.tmux.waitFor(/\b1\/3\b/)

  // Asked, answered no: nothing changes.
  await sh.tmux.keys('C-d')
  const asked = await sh.tmux.waitFor(/Delete these 2 entries/)
  t.regex(asked, /echo doomed-beta/)
  await sh.tmux.type('n')
  await sh.tmux.keys('Enter')
  await sh.tmux.waitFor((s) => fzfOpen(s) && /\b1\/3\b/.test(s))
  t.regex((await rr(['search', '--filter', ''], { env: sh.env })).stdout, /doomed-beta/)

  // Asked, answered yes: gone, and the list reloads with two commands.
  await sh.tmux.keys('C-d')
  await sh.tmux.waitFor(/Delete these 2 entries/)
  await sh.tmux.type('y')
  await sh.tmux.keys('Enter')
  await sh.tmux.waitFor((s) => fzfOpen(s) && /\b0\/2\b/.test(s))
  await sh.tmux.keys('Escape')
  await sh.tmux.waitFor((s) => !fzfOpen(s))

  const listed = await rr(['search', '--filter', ''], { env: sh.env })
  t.deepEqual(listed.stdout.trim().split('\n'), ['echo keep-gamma', 'echo keep-alpha'])
  const db = new Database(sh.dbPath, { readonly: true })
  try {
    t.is(db.prepare('SELECT COUNT(*) FROM tombstones').pluck().get(), 2)
    t.is(db.prepare("SELECT COUNT(*) FROM entries WHERE cmd = 'echo doomed-beta'").pluck().get(), 0)
  } finally {
    db.close()
  }
})
