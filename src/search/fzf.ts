/**
 * Running fzf for ctrl+r: find it (and its version, for `--scheme`), build its arguments, run it with our feed on
 * its stdin. fzf draws on /dev/tty itself when stdin and stdout are pipes, so this works inside `$(rr search)`.
 */
import { execFile, spawn } from 'node:child_process'
import { accessSync, constants, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs'
import { delimiter, dirname, join } from 'node:path'
import { privateDirMode } from '../config/private-files.js'
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

/** The file `name` runs: itself when it holds a slash, else the first executable file of that name on `path`. */
export function whichFzf (name: string, path = process.env.PATH ?? ''): string | undefined {
  const candidates = name.includes('/') ? [name] : path.split(delimiter).map((dir) => join(dir === '' ? '.' : dir, name))
  for (const file of candidates) {
    try {
      if (!statSync(file).isFile()) continue
      accessSync(file, constants.X_OK)
      return file
    } catch {
      // Not there, or not executable: the next one.
    }
  }
  return undefined
}

interface VersionMemo {
  path: string
  size: number
  mtimeMs: number
  version: [number, number, number]
}

/**
 * fzf's version, remembered in `memoFile` for the binary it was read from (path, size, mtime): `fzf --version` is a
 * process start that ctrl+r would otherwise wait for before fzf itself can start. Undefined when fzf is missing.
 */
export async function fzfInfo (fzfPath = 'fzf', memoFile?: string): Promise<FzfInfo | undefined> {
  const bin = whichFzf(fzfPath)
  if (bin == null) return undefined
  let stat: { size: number, mtimeMs: number }
  try {
    stat = statSync(bin)
  } catch {
    return await findFzf(fzfPath)
  }
  const same = (m: Partial<VersionMemo>): boolean => m.path === bin && m.size === stat.size && m.mtimeMs === stat.mtimeMs
  if (memoFile != null) {
    try {
      const memo = JSON.parse(readFileSync(memoFile, 'utf8')) as Partial<VersionMemo>
      if (same(memo) && Array.isArray(memo.version) && memo.version.length === 3 && memo.version.every(Number.isInteger)) return { version: memo.version }
    } catch {
      // No memo yet, or an unreadable one: ask fzf.
    }
  }
  const info = await findFzf(bin)
  if (info == null || memoFile == null || info.version.every((n) => n === 0)) return info
  try {
    // Written whole and renamed, so a ctrl+r in another shell never reads half a memo.
    mkdirSync(dirname(memoFile), { recursive: true, mode: privateDirMode })
    const tmp = `${memoFile}.${process.pid}.tmp`
    writeFileSync(tmp, JSON.stringify({ path: bin, size: stat.size, mtimeMs: stat.mtimeMs, version: info.version } satisfies VersionMemo), { mode: 0o600 })
    renameSync(tmp, memoFile)
  } catch {
    // A data directory rr may not write: ask fzf next time too.
  }
  return info
}

export interface FzfUi {
  /** sh command printing the next filter mode's records (bound to ctrl-r). */
  reload?: string
  /** sh command printing the preview of the record under the cursor ({2}, {4..}: see rows.ts). */
  preview?: string
  /**
   * sh command printing the whole list (header included), run once the first screen is in: the input then holds only
   * that screen and ends, so fzf draws it at once (while its input stays open fzf waits 10 ms, 20 ms … between draws).
   * Only where fzfLoadsRest says fzf can.
   */
  rest?: string
}

/** fzf ≥ 0.36 has the `load` event and reload-sync: the rest of the list can come after the first screen. Pure. */
export function fzfLoadsRest (info: FzfInfo): boolean {
  return atLeast(info.version, [0, 36, 0])
}

/**
 * fzf's arguments: NUL-separated records in and out (multi-line commands stay whole), the first record is the
 * header (mode and keys), rows show fields 3.. (metadata, command) and the query matches the command only (see
 * rows.ts), input order kept on equal scores (newest first), the history scoring scheme where supported
 * (fzf ≥ 0.33); ctrl-r reloads the list in the next filter mode; alt-s toggles sorting by score. The user's
 * FZF_DEFAULT_OPTS still apply. Pure.
 */
export function fzfArgs (info: FzfInfo, ui: FzfUi = {}): string[] {
  const args = ['--read0', '--print0', '--no-multi', '--height=40%', '--tiebreak=index', '--delimiter=\t',
    '--with-nth=3..', '--nth=2..', '--header-lines=1', '--bind=alt-s:toggle-sort']
  if (ui.reload != null) args.push(`--bind=ctrl-r:reload(${ui.reload})`)
  if (ui.preview != null) args.push(`--preview=${ui.preview}`, '--preview-window=right:45%:wrap')
  if (atLeast(info.version, [0, 33, 0])) args.push('--scheme=history')
  // reload-sync keeps the first screen usable until the whole list is in; unbind: the reload's own load is not another.
  if (ui.rest != null && fzfLoadsRest(info)) args.push(`--bind=load:reload-sync(${ui.rest})+unbind(load)`)
  return args
}

/**
 * FZF_DEFAULT_OPTS for fzf: the user's own, then the initial query (what is already typed on the prompt, maybe a
 * token). fzf's environment is readable by its user only; its arguments are in the process list for every user of
 * the machine. Quoted for fzf's shell-words parser. Pure.
 */
export function fzfDefaultOpts (userOpts: string | undefined, query: string): string {
  const quoted = `'${query.replace(/'/g, "'\\''")}'`
  return `${userOpts ?? ''} --query=${quoted}`
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
  /**
   * Feed input (ignores writes after fzf has exited). Resolves at once, or, when the pipe is full, once fzf has read
   * enough of it or has exited.
   */
  write: (chunk: Uint8Array) => Promise<void>
  end: () => void
  /** Closes fzf (SIGTERM: it restores the terminal and exits 130). */
  close: () => void
  /** fzf's exit code and the selection (without the NUL terminator). */
  done: Promise<{ code: number, selection: Buffer }>
}

/** Starts fzf with this initial query (see fzfDefaultOpts); its UI goes to /dev/tty, its stdout (the selection) is captured. */
export function startFzf (args: string[], query: string, fzfPath = 'fzf'): FzfSession {
  // fzf runs reload and preview commands with $SHELL -c; they are written for sh (fish quotes differently).
  const env = { ...process.env, SHELL: '/bin/sh', FZF_DEFAULT_OPTS: fzfDefaultOpts(process.env.FZF_DEFAULT_OPTS, query) }
  const child = spawn(fzfPath, args, { stdio: ['pipe', 'pipe', 'inherit'], env })
  const out: Buffer[] = []
  let open = true
  let drained: Array<() => void> = []
  const release = (): void => {
    const waiting = drained
    drained = []
    for (const resolve of waiting) resolve()
  }
  child.stdin.on('drain', release)
  child.stdin.on('close', release)
  child.stdin.on('error', () => { open = false; release() }) // EPIPE once fzf has exited: the rest is not needed
  child.stdout.on('data', (d: Buffer) => out.push(d))
  const done = new Promise<{ code: number, selection: Buffer }>((resolve, reject) => {
    child.on('error', (err: NodeJS.ErrnoException) => {
      open = false
      release()
      reject(err.code === 'ENOENT' ? new FzfMissingError() : err)
    })
    child.on('close', (code, signal) => {
      open = false
      release()
      let selection = Buffer.concat(out)
      if (selection.length > 0 && selection[selection.length - 1] === 0) selection = selection.subarray(0, -1)
      resolve({ code: code ?? (signal === 'SIGINT' ? 130 : 2), selection })
    })
  })
  return {
    write: async (chunk) => {
      if (!open || chunk.length === 0 || child.stdin.write(chunk)) return
      await new Promise<void>((resolve) => drained.push(resolve))
    },
    end: () => { if (open) child.stdin.end() },
    close: () => { if (open) child.kill('SIGTERM') },
    done
  }
}
