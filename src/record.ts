/**
 * `rr record`: runs on every prompt, so it loads only settings, the filters and the spool writer — not SQLite —
 * and it never fails the shell: any error becomes one line in ~/.rustory/record.log and a quiet exit 0.
 * The entry goes into the spool beside the database (`<db_path>-spool/`, see src/store/spool-files.ts) as one
 * small file; every rr command that opens the database, and p2p-serve / http-serve as files arrive, move it in.
 */
import { join } from 'node:path'
import { canonicalTs, isUuid, truncateCmd, unknownExitCode, validateEntry, type Entry } from './core/entry.js'
import { skipReason } from './core/filters.js'
import { loadSettings, environment, home } from './config/settings.js'
import { countReady, randomBytes16, removePendingRecord, spoolDirOf, writePendingRecord, writeSpoolRecord } from './store/spool-files.js'
import { rustoryVersion } from './version.js'

// node:fs through process.getBuiltinModule rather than `import`: importing it as an ES module evaluates every lazy
// export (the stream classes and their modules), ~3 ms of each `rr record` start, the hot path this module is on.
const { appendFileSync, mkdirSync, readFileSync } = process.getBuiltinModule('node:fs')

/**
 * At this many files waiting, `rr record` drains the spool itself (in the background of the prompt, as always), so
 * a user who never searches or syncs still has a bounded spool.
 */
export const inlineDrainThreshold = 256

export const recordOptions = {
  cmd: { type: 'string' },
  stdin: { type: 'boolean' },
  cwd: { type: 'string' },
  'exit-code': { type: 'string' },
  'duration-ms': { type: 'string' },
  shell: { type: 'string' },
  ts: { type: 'string' },
  'session-id': { type: 'string' },
  start: { type: 'boolean' },
  'ended-now': { type: 'boolean' },
  'entry-id': { type: 'string' },
  pid: { type: 'string' },
  'print-id': { type: 'boolean' },
  'db-path': { type: 'string' },
  'device-id': { type: 'string' },
  'user-id': { type: 'string' },
  'swarm-key': { type: 'string' }
} as const

export type RecordValues = {
  -readonly [K in keyof typeof recordOptions]?: (typeof recordOptions)[K]['type'] extends 'boolean' ? boolean : string
}

/**
 * The record flags: `--name value`, `--name=value`, booleans bare; anything else is an error. Written out rather
 * than node:util's parseArgs, whose first call costs `rr record` ~2 ms of start-up on every prompt. Unlike parseArgs,
 * a value may start with a dash (`--cmd -x`): the shells hand over whatever was typed. Pure.
 */
export function parseRecordArgs (argv: readonly string[]): RecordValues {
  const values: Record<string, string | boolean> = {}
  const specs: Record<string, { type: 'string' | 'boolean' }> = recordOptions
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (!arg.startsWith('--') || arg === '--') throw new Error(`unexpected argument ${JSON.stringify(arg)}`)
    const eq = arg.indexOf('=')
    const name = eq === -1 ? arg.slice(2) : arg.slice(2, eq)
    const spec = Object.hasOwn(specs, name) ? specs[name] : undefined
    if (spec == null) throw new Error(`unknown option --${name}`)
    if (spec.type === 'boolean') {
      if (eq !== -1) throw new Error(`--${name} takes no value`)
      values[name] = true
    } else if (eq !== -1) {
      values[name] = arg.slice(eq + 1)
    } else {
      if (i + 1 >= argv.length) throw new Error(`--${name} needs a value`)
      values[name] = argv[++i]!
    }
  }
  return values as RecordValues
}

function integer (name: string, value: string | undefined, fallback: number): number {
  if (value == null || value === '') return fallback
  const n = Number(value)
  if (!Number.isInteger(n)) throw new Error(`--${name} must be an integer, got ${JSON.stringify(value)}`)
  return n
}

/** A UUID v4 from 16 random bytes (randomBytes16: /dev/urandom, since node:crypto costs `rr record` ~4 ms to load). */
export function uuidV4 (random: Uint8Array): string {
  const b = Uint8Array.from(random.subarray(0, 16))
  if (b.length !== 16) throw new Error('uuidV4 needs 16 random bytes')
  b[6] = (b[6]! & 0x0f) | 0x40
  b[8] = (b[8]! & 0x3f) | 0x80
  // By hand: Buffer's hex encoder costs ~0.4 ms on its first use.
  let hex = ''
  for (const byte of b) hex += (byte < 16 ? '0' : '') + byte.toString(16)
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/**
 * --ts: RFC3339, or Unix seconds with an optional fraction as the shells have it at hand ($EPOCHREALTIME), read
 * without floating point so milliseconds stay exact. Returns the canonical form, or undefined.
 */
export function parseTs (text: string): string | undefined {
  const unix = /^(\d{1,12})(?:[.,](\d+))?$/.exec(text)
  if (unix == null) return canonicalTs(text)
  const ms = Number(unix[1]) * 1000 + Number(((unix[2] ?? '') + '000').slice(0, 3))
  return canonicalTs(new Date(ms).toISOString())
}

export interface RecordOutcome {
  entryId?: string
  skipped?: string
  /** Files in the spool once this one is written. */
  pending?: number
  dbPath?: string
}

/** The value, or undefined when it is missing or empty. */
function nonEmpty (value: string | undefined): string | undefined {
  return value != null && value !== '' ? value : undefined
}

/** Records one command. Throws on failure; runRecord turns that into a log line. */
export function record (argv: string[], stdinText?: () => string): RecordOutcome {
  const values = parseRecordArgs(argv)
  const settings = loadSettings({
    ...(values['db-path'] != null ? { dbPath: values['db-path'] } : {}),
    ...(values['device-id'] != null ? { deviceId: values['device-id'] } : {}),
    ...(values['user-id'] != null ? { userId: values['user-id'] } : {})
  })
  let cmd = values.stdin === true ? (stdinText ?? (() => readFileSync(0, 'utf8')))() : values.cmd
  if (cmd == null) throw new Error('--cmd (or --stdin) is required')
  // Shells hand over the line with its trailing newline; the command is what stands before it.
  cmd = cmd.replace(/\n+$/, '')
  const reason = skipReason(cmd, {
    secretsFilter: settings.secretsFilter,
    ...(settings.recordIgnoreRegex != null ? { ignoreRegex: new RegExp(settings.recordIgnoreRegex) } : {})
  })
  const dir = spoolDirOf(settings.dbPath)
  if (dir == null) throw new Error(`cannot record into ${settings.dbPath}: it is not a file path`)
  // --entry-id and --pid come from the hooks: the same id when the command starts (--start) and when it ends.
  const pid = values.pid != null ? integer('pid', values.pid, 0) : undefined
  const givenId = values['entry-id']
  if (givenId != null && !isUuid(givenId)) throw new Error(`--entry-id must be a UUID, got ${JSON.stringify(givenId)}`)
  const entryId = givenId?.toLowerCase() ?? uuidV4(randomBytes16())
  let outcome: RecordOutcome
  if (reason != null && values.start === true) {
    // Not recorded at all: the end of the command counts the skip.
    outcome = { skipped: reason }
  } else if (reason != null) {
    // Counted by the drain, so doctor's skip counts stay exact; the file carries the reason only.
    writeSpoolRecord(dir, uuidV4(randomBytes16()), { counters: [`skipped.${reason}`] })
    outcome = { skipped: reason }
  } else {
    // --ended-now (fish: it has the duration but no clock): the command started --duration-ms before now.
    const endedAgo = values['ended-now'] === true ? Math.max(0, integer('duration-ms', values['duration-ms'], 0)) : 0
    const ts = values.ts != null ? parseTs(values.ts) : new Date(Date.now() - endedAgo).toISOString()
    if (ts == null) throw new Error(`--ts must be an RFC3339 timestamp or Unix seconds, got ${JSON.stringify(values.ts)}`)
    const stored = truncateCmd(cmd)
    const entry: Entry = {
      entry_id: entryId,
      device_id: settings.deviceId,
      user_id: settings.userId,
      ts,
      cmd: stored,
      // The hooks pass it in the environment: arguments are in the process list, for every user of the machine.
      cwd: values.cwd ?? (nonEmpty(process.env.RUSTORY_RECORD_CWD) ?? process.cwd()),
      exit_code: integer('exit-code', values['exit-code'], 0),
      duration_ms: Math.max(0, integer('duration-ms', values['duration-ms'], 0)),
      shell: values.shell ?? '',
      hostname: settings.hostname,
      version: rustoryVersion()
    }
    const sessionId = values['session-id'] ?? settings.sessionId
    if (sessionId != null && sessionId !== '') entry.session_id = sessionId
    if (values.start === true) {
      // Started, not finished: pending until the shell records its end (or goes away with it still running).
      entry.exit_code = unknownExitCode
      entry.duration_ms = 0
    }
    // The drain validates every file; an entry it would refuse fails here, where record.log says why.
    validateEntry(entry)
    if (values.start === true) {
      if (pid == null || pid <= 0) throw new Error('--start needs --pid (the shell\'s pid)')
      writePendingRecord(dir, pid, entry)
      return { entryId: entry.entry_id, dbPath: settings.dbPath }
    }
    writeSpoolRecord(dir, entry.entry_id, stored !== cmd ? { entry, counters: ['truncated'] } : { entry })
    if (pid != null && givenId != null) removePendingRecord(dir, pid, entry.entry_id)
    outcome = { entryId: entry.entry_id }
  }
  outcome.pending = countReady(dir)
  outcome.dbPath = settings.dbPath
  return outcome
}

/**
 * Drains the spool when `rr record` finds it has grown to inlineDrainThreshold files (nothing else has drained it
 * for a while). Loads SQLite only then. A locked database is not an error: the files wait for the next drain.
 */
async function drainIfFull (dbPath: string, pending: number | undefined): Promise<void> {
  if (pending == null || pending < inlineDrainThreshold) return
  try {
    const { drainSpoolFor } = await import('./store/db.js')
    drainSpoolFor(dbPath, { busyTimeoutMs: 2000 })
  } catch (err) {
    // The command itself is in the spool; say why the spool did not shrink.
    logFailure(err, 'spool drain failed')
  }
}

/** The line record.log gets: for a directory rr may not write, which one and the fix. */
function failureText (err: unknown): string {
  const e = err as NodeJS.ErrnoException | undefined
  if ((e?.code === 'EACCES' || e?.code === 'EPERM' || e?.code === 'EROFS') && e.path != null) {
    return `cannot write to ${e.path} (${e.code}): give this user write access to its directory, or point --db-path (or db_path in config.toml) at a writable place`
  }
  return err instanceof Error ? err.message : String(err)
}

function logFailure (err: unknown, what = 'record failed'): void {
  try {
    const message = failureText(err)
    const env = environment()
    const dir = env.RUSTORY_DATA_DIR != null && env.RUSTORY_DATA_DIR !== '' ? env.RUSTORY_DATA_DIR : join(home(env), '.rustory')
    mkdirSync(dir, { recursive: true, mode: 0o700 })
    appendFileSync(join(dir, 'record.log'), `${new Date().toISOString()} ${what}: ${message.replace(/\n/g, ' ')}\n`, { mode: 0o600 })
  } catch {
    // Nowhere left to report; the shell must still not fail.
  }
}

/** The CLI wrapper: always exit code 0, so a prompt never shows an error from recording. */
export async function runRecord (argv: string[]): Promise<number> {
  try {
    const outcome = record(argv)
    if (outcome.entryId != null && argv.includes('--print-id')) process.stdout.write(`${outcome.entryId}\n`)
    if (outcome.dbPath != null) await drainIfFull(outcome.dbPath, outcome.pending)
  } catch (err) {
    logFailure(err)
  }
  return 0
}
