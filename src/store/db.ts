/** Opening the local SQLite database: WAL, busy timeout, migrations, clear errors. */
import { mkdirSync } from 'node:fs'
import { dirname } from 'node:path'
import BetterSqlite3 from 'better-sqlite3'
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

export function openDatabase (path: string, options: OpenOptions = {}): Database {
  const readonly = options.readonly ?? false
  try {
    if (!readonly) mkdirSync(dirname(path), { recursive: true })
    const db = new BetterSqlite3(path, { readonly, fileMustExist: readonly })
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
