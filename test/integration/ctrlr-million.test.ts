/**
 * The whole history through ctrl+r: a million entries over five years (built by direct SQL, see five-years.ts), the
 * real `rr search` with the real fzf in tmux. A command used once four years ago, and the oldest command of all,
 * are found by typing them. Times are in `npm run bench` (ctrlr), not here.
 */
import test from 'ava'
import { join } from 'node:path'
import { isolatedEnv, rrBin } from '../helpers/cli.js'
import { buildFiveYears } from '../helpers/five-years.js'
import { tempDir } from '../helpers/tmp.js'
import { startTmux } from '../helpers/tmux.js'

test('a command used once four years ago, in a million entries over five years, is found by ctrl+r', async (t) => {
  t.timeout(180_000)
  const dir = tempDir(t)
  const dbPath = join(dir, 'history.db')
  const built = buildFiveYears(dbPath, 1_000_000)
  t.log(`built ${built.entries} entries (${built.distinct} distinct commands) in ${Math.round(built.buildMs)} ms`)
  t.true(built.distinct > 100_000, 'more distinct commands than the old 100k cap')
  const env = isolatedEnv(dir, { TERM: 'xterm-256color', LANG: 'C.UTF-8' })
  delete env.TMUX
  delete env.FZF_DEFAULT_OPTS
  const tmux = await startTmux(t, { command: [process.execPath, rrBin, '--db-path', dbPath, 'search'], env, cwd: dir, height: 40 })
  await tmux.waitFor((s) => s.includes('GLOBAL'), 60_000)
  await tmux.type('quokka-four-years-ago')
  const found = await tmux.waitFor((s) => s.includes(built.onceFourYearsAgo) && / 1\/\d+/.test(s), 120_000)
  t.regex(found, /\(4y ago\)/, 'its preview says four years ago')
  // The oldest command of all is the last row of the feed: the whole history is in.
  await tmux.keys('C-u')
  await tmux.type('the-very-first-command')
  const oldest = await tmux.waitFor((s) => / 1\/\d+/.test(s) && s.includes(built.oldest), 120_000)
  const total = Number(/ 1\/(\d+)/.exec(oldest)![1])
  t.is(total, built.distinct, 'every distinct command is loaded')
})
