/**
 * The flags of `rr search` and `rr history`, declared once: the fast path parses them with node:util parseArgs,
 * the oclif commands build their Flags (and --help) from the same list. Resolving them into store filters is pure.
 */
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import type { FeedFilters } from '../store/search.js'
import { didYouMean } from '../core/suggest.js'
import { UsageError } from './errors.js'
import { parseTimeBound } from './time.js'

export interface FlagSpec {
  name: string
  kind: 'string' | 'integer' | 'boolean'
  description: string
}

/** Filters shared by `rr search` and `rr history`. */
export const filterFlagSpecs: readonly FlagSpec[] = [
  { name: 'cwd', kind: 'string', description: 'only commands run in this directory (exact; relative paths resolve from here)' },
  { name: 'host', kind: 'string', description: 'only commands recorded on this hostname' },
  { name: 'device', kind: 'string', description: 'only commands from this device_id' },
  { name: 'exit', kind: 'integer', description: 'only commands that exited with this status' },
  { name: 'since', kind: 'string', description: 'only commands at or after: RFC3339, a local date or time (2026-11-20 15:00), today, yesterday, a weekday, or a duration back from now (30m, 12h, 7d)' },
  { name: 'until', kind: 'string', description: 'only commands at or before (same forms as --since)' },
  { name: 'session', kind: 'boolean', description: 'only commands recorded by this shell session (the hook sets RUSTORY_SHELL_SESSION)' },
  { name: 'utc', kind: 'boolean', description: 'print times in UTC instead of local time' }
]

export const searchFlagSpecs: readonly FlagSpec[] = [
  { name: 'query', kind: 'string', description: 'initial fzf query (what is already typed on the prompt); the shell hooks pass it in RUSTORY_SEARCH_QUERY instead, which other users cannot read in the process list' },
  { name: 'limit', kind: 'integer', description: 'at most this many distinct commands, newest first [default: search_limit_default, or all]' },
  { name: 'mode', kind: 'string', description: 'filter mode ctrl+r starts in: global, host, session or directory [default: filter_mode_default, global]; ctrl-r inside fzf cycles them' },
  { name: 'reload-state', kind: 'string', description: 'internal: what ctrl-r inside fzf runs to switch to the next filter mode' },
  { name: 'reload-keep', kind: 'boolean', description: 'internal: with --reload-state, reload the same filter mode (after ctrl-d deleted a command)' },
  { name: 'filter', kind: 'string', description: 'non-interactive: print the commands matching this fzf-style query, newest first (no fzf needed)' },
  { name: 'print0', kind: 'boolean', description: 'with --filter: end each command with NUL instead of a newline (multi-line commands stay whole)' },
  ...filterFlagSpecs
]

export const historyFlagSpecs: readonly FlagSpec[] = [
  { name: 'format', kind: 'string', description: 'text (time and command) or jsonl (one JSON entry per line)' },
  { name: 'limit', kind: 'integer', description: 'at most this many entries, newest first [default: all]' },
  ...filterFlagSpecs
]

/** Global options the fast path also accepts (main.ts moves leading ones after the subcommand). */
export const globalOptionNames = ['db-path', 'device-id', 'user-id', 'config', 'swarm-key'] as const

type ParseOptions = Record<string, { type: 'string' | 'boolean' }>

function parseOptions (specs: readonly FlagSpec[]): ParseOptions {
  const options: ParseOptions = {}
  for (const spec of specs) options[spec.name] = { type: spec.kind === 'boolean' ? 'boolean' : 'string' }
  for (const name of globalOptionNames) options[name] = { type: 'string' }
  return options
}

export interface RawFilters {
  cwd?: string | undefined
  host?: string | undefined
  device?: string | undefined
  exit?: string | number | undefined
  since?: string | undefined
  until?: string | undefined
  session?: boolean | undefined
}

export interface GlobalOptions {
  dbPath?: string
  deviceId?: string
  userId?: string
  config?: string
}

export interface SearchArgs {
  query: string
  mode?: string
  reloadState?: string
  reloadKeep?: boolean
  utc: boolean
  limit?: number
  filter?: string
  print0: boolean
  filters: RawFilters
  globals: GlobalOptions
}

function integerFlag (name: string, value: string | number | undefined, min: number): number | undefined {
  if (value == null) return undefined
  const n = typeof value === 'number' ? value : Number(value)
  if (value === '' || !Number.isInteger(n) || n < min) throw new UsageError(`--${name} must be an integer${min > -Infinity ? ` >= ${min}` : ''}, got ${JSON.stringify(value)}`)
  return n
}

function globalsOf (values: Record<string, string | boolean | undefined>): GlobalOptions {
  const globals: GlobalOptions = {}
  if (typeof values['db-path'] === 'string') globals.dbPath = values['db-path']
  if (typeof values['device-id'] === 'string') globals.deviceId = values['device-id']
  if (typeof values['user-id'] === 'string') globals.userId = values['user-id']
  if (typeof values.config === 'string') globals.config = values.config
  return globals
}

function parse (argv: readonly string[], specs: readonly FlagSpec[], command: string): Record<string, string | boolean | undefined> {
  try {
    return parseArgs({ args: [...argv], options: parseOptions(specs), strict: true, allowPositionals: false }).values as Record<string, string | boolean | undefined>
  } catch (err) {
    throw usageErrorOf(err as Error & { code?: string }, specs, command)
  }
}

/** node:util parseArgs's errors in the words every rr command uses (src/cli/report.ts). */
function usageErrorOf (err: Error & { code?: string }, specs: readonly FlagSpec[], command: string): UsageError {
  const help = `\`rr ${command} --help\``
  const option = /'(-[^' ]+)/.exec(err.message)?.[1]
  if (err.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' && option != null) {
    const name = option.split('=')[0]!
    return new UsageError(`unknown flag ${option}${didYouMean(name, specs.map((s) => `--${s.name}`))}; ${help} lists the flags`)
  }
  if (err.code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const word = /'([^']*)'/.exec(err.message)?.[1] ?? ''
    return new UsageError(`unexpected argument '${word}' (quote a query and give it with --query or --filter); ${help} shows the usage`)
  }
  if (option != null && /argument missing/.test(err.message)) return new UsageError(`flag ${option} expects a value; ${help} shows the usage`)
  const first = err.message.split('. ')[0] ?? err.message
  return new UsageError(`${first.charAt(0).toLowerCase()}${first.slice(1)}; ${help} shows the usage`)
}

/** Parses `rr search` arguments (without the subcommand word); the query may come in RUSTORY_SEARCH_QUERY. Throws UsageError. */
export function parseSearchArgs (argv: readonly string[], env: NodeJS.ProcessEnv = process.env): SearchArgs {
  const v = parse(argv, searchFlagSpecs, 'search')
  const limit = integerFlag('limit', v.limit as string | undefined, 1)
  const args: SearchArgs = {
    query: (v.query as string | undefined) ?? env.RUSTORY_SEARCH_QUERY ?? '',
    print0: v.print0 === true,
    utc: v.utc === true,
    filters: { cwd: v.cwd as string | undefined, host: v.host as string | undefined, device: v.device as string | undefined, exit: v.exit as string | undefined, since: v.since as string | undefined, until: v.until as string | undefined, session: v.session === true },
    globals: globalsOf(v)
  }
  if (limit != null) args.limit = limit
  if (typeof v.filter === 'string') args.filter = v.filter
  if (typeof v.mode === 'string') args.mode = v.mode
  if (typeof v['reload-state'] === 'string') args.reloadState = v['reload-state']
  if (v['reload-keep'] === true) args.reloadKeep = true
  return args
}

/**
 * Turns flag values into store filters. `now` anchors relative times, `base` relative --cwd paths, `sessionId` is
 * this shell's session (for --session). Pure.
 */
export function resolveFilters (raw: RawFilters, now: Date, base: string, sessionId?: string): FeedFilters {
  const filters: FeedFilters = {}
  if (raw.cwd != null) filters.cwd = raw.cwd === '' ? '' : resolve(base, raw.cwd)
  if (raw.host != null) filters.hostname = raw.host
  if (raw.device != null) filters.deviceId = raw.device
  const exit = integerFlag('exit', raw.exit, -Infinity)
  if (exit != null) filters.exitCode = exit
  if (raw.since != null) filters.since = parseTimeBound(raw.since, now, '--since')
  if (raw.until != null) filters.until = parseTimeBound(raw.until, now, '--until')
  if (raw.session === true) {
    if (sessionId == null || sessionId === '') throw new UsageError('--session needs the shell session that the rr hook sets (RUSTORY_SHELL_SESSION); load the hook with `rr init <shell>`')
    filters.sessionId = sessionId
  }
  if (filters.since != null && filters.until != null && filters.since > filters.until) {
    throw new UsageError(`--since ${raw.since} is after --until ${raw.until}`)
  }
  return filters
}
