/**
 * Running fzf for ctrl+r: find it (and its version, for `--scheme`), build its arguments, run it with our feed on
 * its stdin. fzf draws on /dev/tty itself when stdin and stdout are pipes, so this works inside `$(rr search)`.
 */
import { execFile, spawn } from 'node:child_process'
import { FzfMissingError } from './errors.js'

export interface FzfInfo {
  /** [major, minor, patch], e.g. [0, 38, 0]. */
  version: [number, number, number]
}

/** Parses `fzf --version` output ("0.38.0 (debian)", "0.44.1 (d7d2ac3)"). Pure. */
export function parseFzfVersion (text: string): [number, number, number] | undefined {
  const m = /(\d+)\.(\d+)(?:\.(\d+))?/.exec(text)
  if (m == null) return undefined
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)]
}

function atLeast (v: readonly number[], want: readonly number[]): boolean {
  for (let i = 0; i < want.length; i++) {
    if ((v[i] ?? 0) !== want[i]) return (v[i] ?? 0) > want[i]!
  }
  return true
}

/** Looks fzf up on PATH. Resolves undefined when it is missing. */
export async function findFzf (fzfPath = 'fzf'): Promise<FzfInfo | undefined> {
  return await new Promise((resolve) => {
    execFile(fzfPath, ['--version'], { timeout: 5000 }, (err, stdout) => {
      if (err != null && (err as NodeJS.ErrnoException).code === 'ENOENT') { resolve(undefined); return }
      resolve({ version: parseFzfVersion(stdout) ?? [0, 0, 0] })
    })
  })
}

/**
 * fzf's arguments: NUL-separated records in and out (multi-line commands stay whole), input order kept on equal
 * scores (newest first), the history scoring scheme where supported (fzf ≥ 0.33), ctrl-r toggles sorting by
 * score (as fzf's own ctrl+r binding does). The user's FZF_DEFAULT_OPTS still apply. Pure.
 */
export function fzfArgs (info: FzfInfo, query: string): string[] {
  const args = ['--read0', '--print0', '--no-multi', '--height=40%', '--tiebreak=index', '--bind=ctrl-r:toggle-sort']
  if (atLeast(info.version, [0, 33, 0])) args.push('--scheme=history')
  args.push(`--query=${query}`)
  return args
}

/** A word for `sh -c`: single-quoted, with embedded single quotes closed, escaped and reopened. Pure. */
export function shellQuote (word: string): string {
  return /^[A-Za-z0-9_./:=@%+-]+$/.test(word) ? word : `'${word.replace(/'/g, "'\\''")}'`
}

/**
 * ctrl-d in ctrl+r: fzf hands the terminal to `rr delete --exact {}` (every use of the highlighted command; it
 * lists them and asks y/N on the terminal), then reloads the list from `rr search --filter '' --print0`. Shown in
 * fzf's header. `rr`: the argv that runs rustory (node and bin/rr); `globals`: --db-path/--config/… as given;
 * `filters`: the filter options this search was opened with (the reload keeps them). Pure.
 */
export function deleteKeyArgs (rr: readonly string[], globals: readonly string[], filters: readonly string[]): string[] {
  const words = (list: readonly string[]): string => list.map(shellQuote).join(' ')
  const base = words([...rr, ...globals])
  const del = `${base} delete --exact {}`
  const reload = `${base} search --filter '' --print0${filters.length > 0 ? ` ${words(filters)}` : ''}`
  return [`--bind=ctrl-d:execute(${del})+reload(${reload})`, '--header=ctrl-d: delete the highlighted command on every device (asks first)']
}

export interface FzfSession {
  /** Feed input (ignores writes after fzf has exited). */
  write: (chunk: Uint8Array) => void
  end: () => void
  /** fzf's exit code and the selection (without the NUL terminator). */
  done: Promise<{ code: number, selection: Buffer }>
}

/** Starts fzf; its UI goes to /dev/tty, its stdout (the selection) is captured. */
export function startFzf (args: string[], fzfPath = 'fzf'): FzfSession {
  const child = spawn(fzfPath, args, { stdio: ['pipe', 'pipe', 'inherit'] })
  const out: Buffer[] = []
  let open = true
  child.stdin.on('error', () => { open = false }) // EPIPE once fzf has exited: the rest of the feed is not needed
  child.stdout.on('data', (d: Buffer) => out.push(d))
  const done = new Promise<{ code: number, selection: Buffer }>((resolve, reject) => {
    child.on('error', (err: NodeJS.ErrnoException) => {
      open = false
      reject(err.code === 'ENOENT' ? new FzfMissingError() : err)
    })
    child.on('close', (code, signal) => {
      open = false
      let selection = Buffer.concat(out)
      if (selection.length > 0 && selection[selection.length - 1] === 0) selection = selection.subarray(0, -1)
      resolve({ code: code ?? (signal === 'SIGINT' ? 130 : 2), selection })
    })
  })
  return {
    write: (chunk) => { if (open && chunk.length > 0) child.stdin.write(chunk) },
    end: () => { if (open) child.stdin.end() },
    done
  }
}
