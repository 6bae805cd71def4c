/**
 * ctrl+r end to end: a real zsh and a real bash in tmux, the hook's widget, the real `rr search` and the real fzf.
 * The chosen entry (multi-line) must land in the line editor exactly, not run; Esc must leave the line alone.
 */
import test from 'ava'
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { rr } from '../helpers/cli.js'
import { sleep, startShell, type ShellFixture } from '../helpers/tmux.js'

const multiLine = 'echo "quokka first\nquokka second"'
const entries = ['echo wombat', 'echo quokka-single', multiLine, 'ls -la']

/** A key binding (ctrl-x d) that writes the line editor's content to a file, so the test reads it exactly. */
function dumpBinding (shell: 'zsh' | 'bash', file: string): string {
  return shell === 'zsh'
    ? `_rr_dump() { print -rn -- "$BUFFER" > ${JSON.stringify(`${file}.tmp`)} && mv -f ${JSON.stringify(`${file}.tmp`)} ${JSON.stringify(file)} }\nzle -N _rr_dump\nbindkey '^Xd' _rr_dump`
    : `_rr_dump() { printf '%s' "$READLINE_LINE" > ${JSON.stringify(`${file}.tmp`)} && mv -f ${JSON.stringify(`${file}.tmp`)} ${JSON.stringify(file)}; }\nbind -x '"\\C-xd": _rr_dump'`
}

async function lineEditorContent (sh: ShellFixture, file: string): Promise<string> {
  rmSync(file, { force: true })
  await sh.tmux.keys('C-x', 'd')
  const deadline = Date.now() + 10_000
  while (!existsSync(file)) {
    if (Date.now() > deadline) throw new Error(`the dump binding did not run:\n${await sh.tmux.screen()}`)
    await sleep(30)
  }
  // Whole: the binding writes a .tmp file and renames it into place.
  return readFileSync(file, 'utf8')
}

/** fzf is open when its info line (matched/total) is on screen. */
const fzfOpen = (screen: string): boolean => /\b\d+\/\d+\b/.test(screen)

for (const shell of ['zsh', 'bash'] as const) {
  test(`${shell}: ctrl+r opens fzf on the history, puts the chosen multi-line command on the line unrun, and Esc keeps the line`, async (t) => {
    const dumpFile = join(process.env.TMPDIR ?? '/tmp', `rr-dump-${process.pid}-${shell}-${Date.now()}`)
    t.teardown(() => rmSync(dumpFile, { force: true }))
    const sh = await startShell(t, shell, dumpBinding(shell, dumpFile))
    for (const [i, cmd] of entries.entries()) {
      const r = await rr(['record', '--cmd', cmd, '--cwd', sh.work, '--exit-code', '0', '--shell', shell, '--ts', `2026-01-01T00:00:0${i}.000Z`], { env: sh.env })
      t.is(r.code, 0)
    }

    // Esc: fzf closes and the partial word stays as typed.
    await sh.tmux.type('quok')
    await sh.tmux.keys('C-r')
    const opened = await sh.tmux.waitFor(fzfOpen)
    t.regex(opened, /quok/)
    await sh.tmux.keys('Escape')
    await sh.tmux.waitFor((s) => !fzfOpen(s))
    t.is(await lineEditorContent(sh, dumpFile), 'quok')

    // Choose: the query narrows to the multi-line entry; Enter puts it on the line.
    await sh.tmux.keys('C-r')
    await sh.tmux.waitFor((s) => fzfOpen(s) && /\b2\/4\b/.test(s))
    await sh.tmux.type(' second')
    await sh.tmux.waitFor(/\b1\/4\b/)
    await sh.tmux.keys('Enter')
    await sh.tmux.waitFor((s) => !fzfOpen(s))
    t.is(await lineEditorContent(sh, dumpFile), multiLine)

    // It was not run: nothing new was recorded.
    await sleep(500)
    const listed = await rr(['search', '--filter', ''], { env: sh.env })
    t.is(listed.code, 0, listed.stderr)
    t.is(listed.stdout.split('quokka first').length - 1, 1)
  })
}
