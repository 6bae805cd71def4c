/** Opening the local SQLite database: WAL, busy timeout, migrations, clear errors. */
import { existsSync, mkdirSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import type BetterSqlite3Type from 'better-sqlite3'
import type { Database } from 'better-sqlite3'
import { migrate } from './schema.js'

export type { Database }

const second = 1000

export interface OpenOptions {
  /** Open without creating or migrating. @default false */
  readonly?: boolean
  /** How long a write waits for another process's lock before failing. @default 10 s */
  busyTimeoutMs?: number
}

export class DatabaseOpenError extends Error {
  static override readonly name = 'DatabaseOpenError'
  override readonly name = 'DatabaseOpenError'
  constructor (readonly path: string, cause: unknown) {
    const detail = cause instanceof Error ? cause.message : String(cause)
    const hint = /locked|busy/i.test(detail)
      ? ' (another process holds a lock on it; retry, or find the process with `fuser`)'
      : /not a database|malformed/i.test(detail) ? ' (the file is not a rustory database or is corrupt)' : ''
    super(`cannot open database ${path}: ${detail}${hint}`, { cause })
  }
}

const require = createRequire(import.meta.url)

let driver: { BetterSqlite3: typeof BetterSqlite3Type, nativeBinding: string | undefined } | undefined

/**
 * better-sqlite3 through require (its CommonJS as-is, no ESM wrapper), with the addon's path given directly so the
 * `bindings` package does not search for it: `rr record` opens the database on every prompt.
 */
function sqliteDriver (): NonNullable<typeof driver> {
  if (driver == null) {
    const BetterSqlite3 = require('better-sqlite3') as typeof BetterSqlite3Type
    let nativeBinding: string | undefined
    try {
      const candidate = join(dirname(require.resolve('better-sqlite3/package.json')), 'build', 'Release', 'better_sqlite3.node')
      if (existsSync(candidate)) nativeBinding = candidate
    } catch {
      // Let better-sqlite3 find its addon itself.
    }
    driver = { BetterSqlite3, nativeBinding }
  }
  return driver
}

export function openDatabase (path: string, options: OpenOptions = {}): Database {
  const readonly = options.readonly ?? false
  try {
    if (!readonly) mkdirSync(dirname(path), { recursive: true })
    const { BetterSqlite3, nativeBinding } = sqliteDriver()
    const db = new BetterSqlite3(path, { readonly, fileMustExist: readonly, ...(nativeBinding != null ? { nativeBinding } : {}) })
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 10 * second}`)
    if (!readonly) {
      // journal_mode=WAL needs a write lock the first time only; later opens see WAL already set.
      if ((db.pragma('journal_mode', { simple: true }) as string) !== 'wal') db.pragma('journal_mode = WAL')
      db.pragma('synchronous = NORMAL')
      migrate(db, path)
    }
    return db
  } catch (err) {
    throw new DatabaseOpenError(path, err)
  }
}
