/**
 * A real terminal for shell tests: one tmux server per session (its own -L socket), killed on teardown.
 * Type into it, read the screen, wait for text to appear.
 */
import { execFile } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import type { ExecutionContext } from 'ava'

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
  async waitFor (test: RegExp | ((screen: string) => boolean), timeoutMs = 15_000): Promise<string> {
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
