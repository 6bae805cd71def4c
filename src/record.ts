/**
 * `rr record`: runs on every prompt, so it loads only settings, the filters and the store, and it never fails the
 * shell — any error becomes one line in ~/.rustory/record.log and a quiet exit 0.
 */
import { appendFileSync, mkdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { canonicalTs, truncateCmd, type Entry } from './core/entry.js'
import { skipReason } from './core/filters.js'
import { loadSettings, environment, home } from './config/settings.js'
import { openDatabase } from './store/db.js'
import { insertEntries } from './store/entries.js'
import { incrementCounter } from './store/peers.js'
import { rustoryVersion } from './version.js'

export const recordOptions = {
  cmd: { type: 'string' },
  stdin: { type: 'boolean' },
  cwd: { type: 'string' },
  'exit-code': { type: 'string' },
  'duration-ms': { type: 'string' },
  shell: { type: 'string' },
  ts: { type: 'string' },
  'print-id': { type: 'boolean' },
  'db-path': { type: 'string' },
  'device-id': { type: 'string' },
  'user-id': { type: 'string' },
  'swarm-key': { type: 'string' }
} as const

function integer (name: string, value: string | undefined, fallback: number): number {
  if (value == null || value === '') return fallback
  const n = Number(value)
  if (!Number.isInteger(n)) throw new Error(`--${name} must be an integer, got ${JSON.stringify(value)}`)
  return n
}

/**
 * A UUID v4 from SQLite's randomness (ChaCha20 seeded from the OS): node:crypto would cost `rr record` several
 * milliseconds of module loading on every prompt.
 */
export function uuidV4 (random: Uint8Array): string {
  const b = Uint8Array.from(random.subarray(0, 16))
  if (b.length !== 16) throw new Error('uuidV4 needs 16 random bytes')
  b[6] = (b[6]! & 0x0f) | 0x40
  b[8] = (b[8]! & 0x3f) | 0x80
  const hex = Buffer.from(b).toString('hex')
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
}

/** Records one command. Throws on failure; runRecord turns that into a log line. */
export function record (argv: string[], stdinText?: () => string): RecordOutcome {
  const { values } = parseArgs({ args: argv, options: recordOptions, strict: true, allowPositionals: false })
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
  const db = openDatabase(settings.dbPath)
  try {
    if (reason != null) {
      incrementCounter(db, `skipped.${reason}`)
      return { skipped: reason }
    }
    const ts = values.ts != null ? parseTs(values.ts) : new Date().toISOString()
    if (ts == null) throw new Error(`--ts must be an RFC3339 timestamp or Unix seconds, got ${JSON.stringify(values.ts)}`)
    const stored = truncateCmd(cmd)
    const entry: Entry = {
      entry_id: uuidV4(db.prepare('SELECT randomblob(16)').pluck().get() as Buffer),
      device_id: settings.deviceId,
      user_id: settings.userId,
      ts,
      cmd: stored,
      cwd: values.cwd ?? process.cwd(),
      exit_code: integer('exit-code', values['exit-code'], 0),
      duration_ms: Math.max(0, integer('duration-ms', values['duration-ms'], 0)),
      shell: values.shell ?? '',
      hostname: settings.hostname,
      version: rustoryVersion()
    }
    db.transaction(() => {
      insertEntries(db, [entry])
      if (stored !== cmd) incrementCounter(db, 'truncated')
    }).immediate()
    return { entryId: entry.entry_id }
  } finally {
    db.close()
  }
}

function logFailure (err: unknown): void {
  try {
    const env = environment()
    const dir = env.RUSTORY_DATA_DIR != null && env.RUSTORY_DATA_DIR !== '' ? env.RUSTORY_DATA_DIR : join(home(env), '.rustory')
    mkdirSync(dir, { recursive: true })
    const message = err instanceof Error ? err.message : String(err)
    appendFileSync(join(dir, 'record.log'), `${new Date().toISOString()} record failed: ${message.replace(/\n/g, ' ')}\n`)
  } catch {
    // Nowhere left to report; the shell must still not fail.
  }
}

/** The CLI wrapper: always exit code 0, so a prompt never shows an error from recording. */
export function runRecord (argv: string[]): number {
  try {
    const outcome = record(argv)
    if (outcome.entryId != null && argv.includes('--print-id')) process.stdout.write(`${outcome.entryId}\n`)
  } catch (err) {
    logFailure(err)
  }
  return 0
}
