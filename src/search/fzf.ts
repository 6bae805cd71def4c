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

export interface FzfUi {
  /** sh command printing the next filter mode's records (bound to ctrl-r). */
  reload?: string
  /** sh command printing the preview of the record under the cursor ({2}, {4..}: see rows.ts). */
  preview?: string
}

/**
 * fzf's arguments: NUL-separated records in and out (multi-line commands stay whole), the first record is the
 * header (mode and keys), rows show fields 3.. (metadata, command) and the query matches the command only (see
 * rows.ts), input order kept on equal scores (newest first), the history scoring scheme where supported
 * (fzf ≥ 0.33); ctrl-r reloads the list in the next filter mode; alt-s toggles sorting by score. The user's
 * FZF_DEFAULT_OPTS still apply. Pure.
 */
export function fzfArgs (info: FzfInfo, query: string, ui: FzfUi = {}): string[] {
  const args = ['--read0', '--print0', '--no-multi', '--height=40%', '--tiebreak=index', '--delimiter=\t',
    '--with-nth=3..', '--nth=2..', '--header-lines=1', '--bind=alt-s:toggle-sort']
  if (ui.reload != null) args.push(`--bind=ctrl-r:reload(${ui.reload})`)
  if (ui.preview != null) args.push(`--preview=${ui.preview}`, '--preview-window=right:45%:wrap')
  if (atLeast(info.version, [0, 33, 0])) args.push('--scheme=history')
  args.push(`--query=${query}`)
  return args
}

/**
 * ctrl-d in ctrl+r: fzf hands the terminal to `rr delete --command-of {1}` (field 1 of a row is its entry_id; every
 * use of that command goes, after a y/N question on the terminal), then reloads the list in the same mode. Shown in
 * fzf's header. `rr`: the sh words that run rustory's `delete` with this search's global options; `reload`: the
 * reload command. Pure.
 */
export function deleteKeyArgs (rr: string, reload: string): string[] {
  return [`--bind=ctrl-d:execute(${rr} --command-of {1})+reload(${reload})`, '--header=ctrl-d: delete the highlighted command on every device (asks first)']
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
  // fzf runs reload and preview commands with $SHELL -c; they are written for sh (fish quotes differently).
  const child = spawn(fzfPath, args, { stdio: ['pipe', 'pipe', 'inherit'], env: { ...process.env, SHELL: '/bin/sh' } })
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
