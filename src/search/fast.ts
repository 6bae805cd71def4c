/**
 * `rr search`, the ctrl+r path. bin/rr calls runSearch through runSearchFast in its one-file bundle (src/cli/search-main.ts) without
 * oclif; the oclif `search` command (for --help) calls it too. Before the first screen it loads only settings,
 * better-sqlite3 and fzf: it starts fzf, then reads the head (the spool's waiting commands from their files, see
 * feed.ts); the spool is drained, and the rest streamed, once the head is on its way.
 *
 * Interactive: fzf over the feed; Enter prints the chosen command exactly (no newline added), exit 0;
 * Esc / ctrl-c prints nothing, exit 130 (fzf's code; 1 when nothing matched). Missing fzf: exit 2 with how to
 * install it. `--filter Q`: no fzf, prints matching commands newest first, one per line (`--print0`: NUL-ended).
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { environment, filterModes, home, loadSettings, type FilterMode, type Settings, type SettingsOverrides } from '../config/settings.js'
import type { FeedFilters } from '../store/search.js'
import { FzfMissingError, UsageError } from './errors.js'
import { encodeRaw, openFeed, resolveSelection, type Feed } from './feed.js'
import { filterFeed } from './filter.js'
import { deleteKeyArgs, fzfArgs, fzfInfo, fzfLoadsRest, startFzf } from './fzf.js'
import { parseSearchArgs, resolveFilters, type GlobalOptions } from './options.js'
import { headerRecord, previewCommand, selectedCommand, selectedEntryId, type RowView } from './rows.js'
import { commandById, openForSearch } from '../store/search.js'

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
  now?: Date
  /** This shell's session; undefined: from the settings (RUSTORY_SHELL_SESSION). */
  sessionId?: string
}

async function writeOut (stream: NodeJS.WritableStream, data: Uint8Array | string): Promise<void> {
  if (data.length === 0) return
  await new Promise<void>((resolve) => {
    const done = (): void => {
      stream.off('error', done)
      resolve()
    }
    stream.once('error', done)
    stream.write(data, done)
  })
}

/** The next filter mode after `mode`, skipping session when there is none. Pure. */
export function nextMode (mode: FilterMode, hasSession: boolean): FilterMode {
  let i = filterModes.indexOf(mode)
  do i = (i + 1) % filterModes.length
  while (filterModes[i] === 'session' && !hasSession)
  return filterModes[i]!
}

const modeNames: Record<FilterMode, string> = { global: 'all hosts', host: 'this host', session: 'this session', directory: 'this directory' }

/** fzf's header: the mode and the keys. Pure. */
export function headerText (mode: FilterMode): string {
  return `${mode.toUpperCase()} (${modeNames[mode]}) · ctrl-r: next mode · enter: to the prompt · esc: cancel · alt-s: sort`
}

/** The filters of a mode on top of the flags' filters. */
export function modeFilters (base: FeedFilters, mode: FilterMode, here: { hostname: string, cwd: string, sessionId?: string }): FeedFilters {
  switch (mode) {
    case 'global': return base
    case 'host': return { ...base, hostname: here.hostname }
    case 'session': return here.sessionId != null ? { ...base, sessionId: here.sessionId } : base
    case 'directory': return { ...base, cwd: here.cwd }
  }
}

function parseMode (text: string | undefined, fallback: FilterMode): FilterMode {
  if (text == null) return fallback
  if (!(filterModes as readonly string[]).includes(text)) throw new UsageError(`--mode ${JSON.stringify(text)}: use one of ${filterModes.join(', ')}`)
  return text as FilterMode
}

/** fzf's version, remembered in the data directory for the binary it was read from (fzf.ts fzfInfo). */
const fzfMemoName = 'fzf-version.json'

/** What ctrl-r inside fzf reloads from: the mode shown now. Lives in a private temp dir for one `rr search`. */
interface ReloadState {
  mode: FilterMode
}

/** `sh -c` words for the reload binding: this node, this rr, the state file. */
function reloadCommand (statePath: string, argv: readonly string[], keep = false): string {
  const rrBin = fileURLToPath(new URL('../../../bin/rr', import.meta.url))
  return [process.execPath, rrBin, 'search', ...argv, '--reload-state', statePath, ...(keep ? ['--reload-keep'] : [])].map(shellQuote).join(' ')
}

/** `sh -c` words for ctrl-d: this node, this rr, `delete`, and the global options this search was given. */
function deleteCommand (g: GlobalOptions): string {
  const rrBin = fileURLToPath(new URL('../../../bin/rr', import.meta.url))
  const globals = [
    ...(g.dbPath != null ? ['--db-path', g.dbPath] : []),
    ...(g.config != null ? ['--config', g.config] : []),
    ...(g.deviceId != null ? ['--device-id', g.deviceId] : []),
    ...(g.userId != null ? ['--user-id', g.userId] : [])
  ]
  return [process.execPath, rrBin, 'delete', ...globals].map(shellQuote).join(' ')
}

function shellQuote (word: string): string {
  return `'${word.replace(/'/g, "'\\''")}'`
}

async function pipeFeed (feed: Feed, out: NodeJS.WritableStream, stderr: NodeJS.WritableStream): Promise<void> {
  await writeOut(out, feed.head)
  let broken = false
  const abort = new AbortController()
  // fzf gone (an answer chosen, or a newer reload): stop reading the history nobody will see.
  out.on('error', () => { broken = true; abort.abort() })
  await feed.rest(async (chunk) => { if (!broken) await writeOut(out, chunk) }, { signal: abort.signal })
    .catch((err: unknown) => { stderr.write(`rr: search feed stopped early: ${(err as Error).message}\n`) })
}

/** Runs `rr search` and returns the exit code. */
export async function runSearch (argv: readonly string[], io: SearchIo): Promise<number> {
  const args = parseSearchArgs(argv)
  const settings = settingsFor(args.globals)
  const now = io.now ?? new Date()
  const cwd = io.cwd ?? process.cwd()
  const sessionId = io.sessionId !== undefined ? io.sessionId : settings.sessionId
  const filters: FeedFilters = resolveFilters(args.filters, now, cwd, sessionId)
  const limit = args.limit ?? (settings.searchLimitDefault > 0 ? settings.searchLimitDefault : Number.MAX_SAFE_INTEGER)

  if (args.filter != null) {
    // Lines for people are shown with control characters escaped; --print0 is for programs and stays exact, unless
    // it goes to a terminal.
    const exact = args.print0 && (io.stdout as { isTTY?: boolean }).isTTY !== true
    const out = filterFeed({ dbPath: settings.dbPath, limit, filters, query: args.filter, separator: args.print0 ? '\0' : '\n', escape: !exact })
    await writeOut(io.stdout, out)
    return 0
  }

  const view: RowView = { nowMs: now.getTime(), cwd, hostname: settings.hostname, home: home(), utc: args.utc }
  const here = { hostname: settings.hostname, cwd, ...(sessionId != null ? { sessionId } : {}) }
  const feedFor = (mode: FilterMode): Feed =>
    openFeed({ dbPath: settings.dbPath, limit, filters: modeFilters(filters, mode, here), view, header: headerText(mode) })

  if (args.reloadState != null) {
    // ctrl-r inside fzf: the next mode's feed to stdout, which fzf reads in place of the list.
    const state = JSON.parse(readFileSync(args.reloadState, 'utf8')) as ReloadState
    // ctrl-d reloads the same mode (--reload-keep); ctrl-r moves to the next one.
    const mode = args.reloadKeep === true ? state.mode : nextMode(state.mode, sessionId != null)
    if (mode !== state.mode) writeFileSync(args.reloadState, JSON.stringify({ mode } satisfies ReloadState))
    await pipeFeed(feedFor(mode), io.stdout, io.stderr)
    return 0
  }

  const mode = parseMode(args.mode, settings.filterModeDefault)
  const fzf = await fzfInfo(io.fzfPath, join(settings.dataDir, fzfMemoName))
  if (fzf == null) throw new FzfMissingError()
  const stateDir = mkdtempSync(join(tmpdir(), 'rustory-search-'))
  const statePath = join(stateDir, 'mode.json')
  writeFileSync(statePath, JSON.stringify({ mode } satisfies ReloadState))
  // fzf starts before the database is opened: its own start (and the 20 ms it waits before its first draw) runs
  // while the spool is drained and the head is read, and the header tells it at once that input is coming.
  // Where fzf can, the input is the first screen only and fzf loads the whole list itself once it has drawn it.
  const restByFzf = fzfLoadsRest(fzf)
  const session = startFzf([
    ...fzfArgs(fzf, {
      reload: reloadCommand(statePath, dropQuery(argv)),
      preview: previewCommand,
      ...(restByFzf ? { rest: reloadCommand(statePath, dropQuery(argv), true) } : {})
    }),
    ...deleteKeyArgs(deleteCommand(args.globals), reloadCommand(statePath, dropQuery(argv), true))
  ], args.query, io.fzfPath)
  void session.write(encodeRaw([headerRecord(headerText(mode))]))
  let feed: Feed
  try {
    feed = openFeed({ dbPath: settings.dbPath, limit, filters: modeFilters(filters, mode, here), view })
  } catch (err) {
    session.close()
    await session.done.catch(() => {})
    rmSync(stateDir, { recursive: true, force: true })
    throw err
  }
  const abort = new AbortController()
  const streaming = session.write(feed.head)
    .then(async () => { if (!restByFzf) await feed.rest(async (chunk) => await session.write(chunk), { signal: abort.signal }) })
    .catch((err: unknown) => { io.stderr.write(`rr: search feed stopped early: ${(err as Error).message}\n`) })
    .finally(() => session.end())
  let result: Awaited<typeof session.done>
  try {
    result = await session.done
  } finally {
    abort.abort()
    await streaming
    rmSync(stateDir, { recursive: true, force: true })
  }
  const { code, selection } = result
  if (code === 0) await writeOut(io.stdout, chosenCommand(settings.dbPath, filters, selection.toString('utf8'), feed.fromSpool))
  return code
}

/**
 * The command behind the record fzf printed, exactly (its control characters as stored): looked up by the record's
 * entry_id (among what the head showed from the spool, then in the database); else the shown text, unescaped as
 * main's resolveSelection does.
 */
function chosenCommand (dbPath: string, filters: FeedFilters, record: string, fromSpool: ReadonlyMap<string, string>): string {
  const id = selectedEntryId(record)
  const spooled = fromSpool.get(id)
  if (spooled != null) return spooled
  if (id !== '') {
    const db = openForSearch(dbPath)
    if (db != null) {
      try {
        const cmd = commandById(db, id)
        if (cmd != null) return cmd
      } finally {
        db.close()
      }
    }
  }
  return resolveSelection(dbPath, filters, selectedCommand(record))
}

/** The arguments without --query/--mode (the reload passes the mode in its state file; fzf keeps the query). Pure. */
export function dropQuery (argv: readonly string[]): string[] {
  const out: string[] = []
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!
    if (a === '--query' || a === '--mode') { i++; continue }
    if (a.startsWith('--query=') || a.startsWith('--mode=')) continue
    out.push(a)
  }
  return out
}
