/**
 * `rr search`, the ctrl+r path. bin/rr calls runSearchFast without loading oclif; the oclif `search` command
 * (for --help) calls it too. It loads only settings, the store and fzf; the worker pool is loaded after the first
 * screen is on its way.
 *
 * Interactive: fzf over the feed; Enter prints the chosen command exactly (no newline added), exit 0;
 * Esc / ctrl-c prints nothing, exit 130 (fzf's code; 1 when nothing matched). Missing fzf: exit 2 with how to
 * install it. `--filter Q`: no fzf, prints matching commands newest first, one per line (`--print0`: NUL-ended).
 */
import { environment, loadSettings, type Settings, type SettingsOverrides } from '../config/settings.js'
import type { FeedFilters } from '../store/search.js'
import { FzfMissingError } from './errors.js'
import { openFeed, resolveSelection } from './feed.js'
import { filterFeed } from './filter.js'
import { deleteKeyArgs, findFzf, fzfArgs, startFzf } from './fzf.js'
import { parseSearchArgs, resolveFilters, type GlobalOptions, type SearchArgs } from './options.js'

/** The global options as flags again, for the commands fzf runs (ctrl-d). */
function globalArgv (g: GlobalOptions): string[] {
  return [
    ...(g.dbPath != null ? ['--db-path', g.dbPath] : []),
    ...(g.config != null ? ['--config', g.config] : []),
    ...(g.deviceId != null ? ['--device-id', g.deviceId] : []),
    ...(g.userId != null ? ['--user-id', g.userId] : [])
  ]
}

/** The filter options and --limit as flags again, so ctrl-d's reload shows the same list. */
function filterArgv (args: SearchArgs): string[] {
  const out: string[] = []
  for (const [name, value] of Object.entries(args.filters)) if (value != null) out.push(`--${name}`, String(value))
  if (args.limit != null) out.push('--limit', String(args.limit))
  return out
}

/** Errors that print as one line (their message says the fix). */
const knownErrors = new Set(['UsageError', 'FzfMissingError', 'ConfigError', 'DatabaseOpenError', 'SchemaTooNewError'])

export function settingsFor (globals: GlobalOptions): Settings {
  const overrides: SettingsOverrides = {}
  if (globals.dbPath != null) overrides.dbPath = globals.dbPath
  if (globals.deviceId != null) overrides.deviceId = globals.deviceId
  if (globals.userId != null) overrides.userId = globals.userId
  const env = globals.config != null ? { ...environment(), RUSTORY_CONFIG: globals.config } : environment()
  return loadSettings(overrides, env)
}

export interface SearchIo {
  stdout: NodeJS.WritableStream
  stderr: NodeJS.WritableStream
  /** Where fzf is looked up. @default 'fzf' (PATH) */
  fzfPath?: string
  /** @default process.cwd() */
  cwd?: string
  /** The argv that runs rustory, for the commands fzf runs on ctrl-d. @default [node, bin/rr] of this process */
  rr?: string[]
  now?: Date
}

async function writeOut (stream: NodeJS.WritableStream, data: Uint8Array | string): Promise<void> {
  if (data.length === 0) return
  await new Promise<void>((resolve) => {
    stream.once('error', () => resolve())
    stream.write(data, () => resolve())
  })
}

/** Runs `rr search` and returns the exit code. */
export async function runSearch (argv: readonly string[], io: SearchIo): Promise<number> {
  const args = parseSearchArgs(argv)
  const filters: FeedFilters = resolveFilters(args.filters, io.now ?? new Date(), io.cwd ?? process.cwd())
  const settings = settingsFor(args.globals)
  const limit = args.limit ?? settings.searchLimitDefault

  if (args.filter != null) {
    // Lines for people are shown with control characters escaped; --print0 is for programs and stays exact, unless
    // it goes to a terminal.
    const exact = args.print0 && (io.stdout as { isTTY?: boolean }).isTTY !== true
    const out = filterFeed({ dbPath: settings.dbPath, limit, filters, query: args.filter, separator: args.print0 ? '\0' : '\n', escape: !exact })
    await writeOut(io.stdout, out)
    return 0
  }

  // fzf is looked up while the head of the feed is read.
  const fzfLookup = findFzf(io.fzfPath)
  const feed = openFeed({ dbPath: settings.dbPath, limit, filters })
  const fzf = await fzfLookup
  if (fzf == null) throw new FzfMissingError()
  const session = startFzf([...fzfArgs(fzf, args.query), ...deleteKeyArgs(io.rr ?? [process.execPath, process.argv[1] ?? 'rr'], globalArgv(args.globals), filterArgv(args))], io.fzfPath)
  session.write(feed.head)
  const abort = new AbortController()
  const streaming = feed.rest((chunk) => session.write(chunk), { signal: abort.signal })
    .catch((err: unknown) => { io.stderr.write(`rr: search feed stopped early: ${(err as Error).message}\n`) })
    .finally(() => session.end())
  let result: Awaited<typeof session.done>
  try {
    result = await session.done
  } finally {
    abort.abort()
    await streaming
  }
  const { code, selection } = result
  if (code === 0) await writeOut(io.stdout, resolveSelection(settings.dbPath, filters, selection.toString('utf8')))
  return code
}

/** The bin/rr entry: never throws; known errors print one line. */
export async function runSearchFast (argv: string[]): Promise<number> {
  try {
    return await runSearch(argv, { stdout: process.stdout, stderr: process.stderr })
  } catch (err) {
    const e = err as Error & { exitCode?: number }
    if (knownErrors.has(e.name)) {
      process.stderr.write(`rr: ${e.message}\n`)
      return e.exitCode ?? 1
    }
    process.stderr.write(`rr search: ${e.stack ?? e.message}\n`)
    return 1
  }
}
