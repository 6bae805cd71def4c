/**
 * A real terminal for shell tests: one tmux server per session (its own -L socket), killed on teardown.
 * Type into it, read the screen, wait for text to appear.
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { mkdirSync, readdirSync, readlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { ExecutionContext } from 'ava'
import { isolatedEnv, rr } from './cli.js'
import { tempDir } from './tmp.js'

export interface TmuxOptions {
  /** The program and its arguments, run as the session's only pane. */
  command: string[]
  env: NodeJS.ProcessEnv
  cwd: string
  /** @default 200 */
  width?: number
  /** @default 50 */
  height?: number
}

async function run (args: string[], env?: NodeJS.ProcessEnv, cwd?: string): Promise<string> {
  return await new Promise((resolve, reject) => {
    execFile('tmux', args, { env: env ?? process.env, cwd, timeout: 10_000 }, (err, stdout, stderr) => {
      if (err != null) reject(new Error(`tmux ${args.join(' ')}: ${err.message} ${stderr}`))
      else resolve(stdout)
    })
  })
}

export const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

export class TmuxSession {
  constructor (readonly socket: string) {}

  /** tmux key names: 'Enter', 'C-r', 'Escape', … */
  async keys (...keys: string[]): Promise<void> {
    await run(['-L', this.socket, 'send-keys', '-t', 'rr', ...keys])
  }

  /** Types text literally (no key-name lookup). */
  async type (text: string): Promise<void> {
    await run(['-L', this.socket, 'send-keys', '-t', 'rr', '-l', '--', text])
  }

  /** The visible screen as text. */
  async screen (): Promise<string> {
    return await run(['-L', this.socket, 'capture-pane', '-p', '-t', 'rr'])
  }

  /** Polls the screen until `test` passes; throws with the last screen on timeout. */
  async waitFor (test: RegExp | ((screen: string) => boolean), timeoutMs = 30_000): Promise<string> {
    const deadline = Date.now() + timeoutMs
    let last = ''
    while (Date.now() < deadline) {
      last = await this.screen()
      if (typeof test === 'function' ? test(last) : test.test(last)) return last
      await sleep(50)
    }
    throw new Error(`timed out waiting for ${String(test)} on screen:\n${last}`)
  }

  async kill (): Promise<void> {
    await run(['-L', this.socket, 'kill-server']).catch(() => {})
  }
}

/** Starts a detached tmux server running `command`, and kills it on teardown. */
export async function startTmux (t: ExecutionContext, options: TmuxOptions): Promise<TmuxSession> {
  const socket = `rr-test-${process.pid}-${randomBytes(4).toString('hex')}`
  const session = new TmuxSession(socket)
  t.teardown(async () => await session.kill())
  await run(['-L', socket, '-f', '/dev/null', 'new-session', '-d', '-s', 'rr',
    '-x', String(options.width ?? 200), '-y', String(options.height ?? 50), '--', ...options.command], options.env, options.cwd)
  return session
}

/** Counts non-overlapping occurrences of `needle` in `text`. */
export function count (text: string, needle: string): number {
  return text.split(needle).length - 1
}

const prompt = 'RRTEST> '
/** capture-pane drops trailing blanks, so match the prompt without its space. */
const promptMark = 'RRTEST>'
export type Shell = 'zsh' | 'bash' | 'fish'

export interface ShellFixture {
  tmux: TmuxSession
  dbPath: string
  home: string
  work: string
  env: NodeJS.ProcessEnv
  /** Number of prompts on screen now. */
  prompts: () => Promise<number>
  /** Types a line, presses Enter, waits for the next prompt. */
  run: (line: string) => Promise<void>
}

/**
 * A real interactive zsh (`zsh -f`) or bash (`--norc --noprofile`) in tmux, with an isolated HOME/ZDOTDIR, a
 * known prompt, and `rr init <shell>` sourced. `preRc` runs before the hook, `extraRc` after it.
 */
export async function startShell (t: ExecutionContext, shell: Shell, extraRc = '', preRc = ''): Promise<ShellFixture> {
  const root = tempDir(t, `rustory-${shell}-`)
  const home = join(root, 'home')
  const work = join(root, 'work dir')
  mkdirSync(home, { recursive: true })
  mkdirSync(join(work, 'sub'), { recursive: true })
  const env = isolatedEnv(home, { ZDOTDIR: home, TERM: 'xterm-256color', SHELL: `/bin/${shell}`, LANG: 'C.UTF-8' })
  delete env.TMUX
  const init = await rr(['init', shell], { env })
  t.is(init.code, 0, init.stderr)
  const hook = join(root, `hook.${shell}`)
  writeFileSync(hook, init.stdout)
  const rc = join(root, `rc.${shell}`)
  writeFileSync(rc, shell === 'zsh'
    ? `PROMPT='${prompt}'\nHISTSIZE=1000\n${preRc}\nsource ${JSON.stringify(hook)}\n${extraRc}\n`
    : shell === 'fish'
      ? `function fish_prompt; printf '${prompt}'; end\nfunction fish_greeting; end\n${preRc}\nsource ${JSON.stringify(hook)}\n${extraRc}\n`
      : `PS1='${prompt}'\n${preRc}\nsource ${JSON.stringify(hook)}\n${extraRc}\n`)
  const command = shell === 'zsh'
    ? ['zsh', '-f', '-i']
    : shell === 'fish' ? ['fish', '--no-config', '-i'] : ['bash', '--norc', '--noprofile', '-i']
  const tmux = await startTmux(t, { command, env, cwd: work })
  // Runs before the temp dir goes (teardowns run last-registered first): let background recordings finish.
  t.teardown(async () => {
    await tmux.kill()
    await waitForProcessesIn(root)
  })
  await tmux.waitFor((s) => s.trim().length > 0)
  await tmux.type(`source ${JSON.stringify(rc)}`)
  await tmux.keys('Enter')
  await tmux.waitFor((s) => s.includes(promptMark))
  const prompts = async (): Promise<number> => count(await tmux.screen(), promptMark)
  const run = async (line: string): Promise<void> => {
    const before = await prompts()
    const lines = line.split('\n')
    for (const [i, part] of lines.entries()) {
      await tmux.type(part)
      await tmux.keys('Enter')
      if (i < lines.length - 1) await sleep(100)
    }
    const deadline = Date.now() + 15_000
    while (await prompts() <= before) {
      if (Date.now() > deadline) throw new Error(`no prompt after ${JSON.stringify(line)}:\n${await tmux.screen()}`)
      await sleep(30)
    }
  }
  return { tmux, dbPath: join(home, '.rustory', 'history.db'), home, work, env, prompts, run }
}

/** Waits until no process runs with its cwd under `dir` (the hook's background `rr record`s). Linux /proc. */
export async function waitForProcessesIn (dir: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    const busy = readdirSync('/proc').filter((p) => /^\d+$/.test(p)).some((pid) => {
      try {
        return readlinkSync(`/proc/${pid}/cwd`).startsWith(dir)
      } catch {
        return false
      }
    })
    if (!busy) return
    await sleep(50)
  }
}
