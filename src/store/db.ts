/**
 * Opening the local SQLite database: WAL, busy timeout, migrations, clear errors. Opening has no other effect:
 * moving the record spool (spool.ts) into the database is a call of its own at the places that mean it
 * (drainSpoolInto on a handle they hold, drainSpoolFor by path without waiting on a lock); workers never drain.
 */
import { randomBytes } from 'node:crypto'
import { accessSync, constants, existsSync, linkSync, mkdirSync, readdirSync, rmSync, statSync } from 'node:fs'
import { createPrivateFile, databaseOwnPaths, privateDirMode, refuseForeign, tightenDatabase } from '../config/private-files.js'
import { createRequire } from 'node:module'
import { basename, dirname, join } from 'node:path'
import type BetterSqlite3Type from 'better-sqlite3'
import type { Database } from 'better-sqlite3'
import { migrate } from './schema.js'
import { candidates, drainSpool, emptyDrain, promoteAbandoned, type DrainOptions, type DrainResult } from './spool.js'
import { listSpool, readyName, spoolDirOf } from './spool-files.js'
import { RustoryError } from '../core/errors.js'
import { secondMs } from '../core/units.js'
import { processIsGone } from '../core/pid.js'

export type { Database }

export interface OpenOptions {
  /** Open without creating or migrating. @default false */
  readonly?: boolean
  /** How long a write waits for another process's lock before failing. @default 10 s */
  busyTimeoutMs?: number
}

export class DatabaseOpenError extends RustoryError {
  static override readonly name = 'DatabaseOpenError'
  override readonly name = 'DatabaseOpenError'
  constructor (readonly path: string, cause: unknown) {
    super(describeOpenFailure(path, cause), { cause })
  }
}

/**
 * One line naming the file and the fix, from what SQLite said and what the path is: a directory, a file that is
 * not a database, a directory rr may not write to, a lock held by another process.
 */
export function describeOpenFailure (path: string, cause: unknown): string {
  const detail = cause instanceof Error ? cause.message : String(cause)
  const code = (cause as { code?: unknown } | undefined)?.code
  const choose = 'point --db-path (or db_path in config.toml) at another file'
  if (isDirectory(path)) return `database path ${path} is a directory, not a file: ${choose}, e.g. ${join(path, 'history.db')}`
  if (/not a database|malformed|encrypted/i.test(detail)) {
    return `database ${path} is not a SQLite database or is corrupt (${detail}): move it aside (mv ${path} ${path}.bad) and rr starts a new one, or ${choose}`
  }
  const dir = dirname(path)
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS' || /unable to open|readonly|read-only|permission/i.test(detail)) {
    const blocked = !writable(dir) ? dir : existsSync(path) && !writable(path) ? path : undefined
    if (blocked != null) {
      return `cannot write to ${blocked === dir ? `directory ${dir}` : path} (database ${path}): give this user write access to it, or ${choose}`
    }
  }
  // SQLite's own words only: the path itself may hold "locked" or "busy".
  if (/database is locked|database table is locked|SQLITE_BUSY|SQLITE_LOCKED/i.test(detail.split(path).join(''))) {
    return `cannot open database ${path}: ${detail} (another process holds a lock on it; retry, or find the process with \`fuser ${path}\`)`
  }
  return `cannot open database ${path}: ${detail}`
}

function isDirectory (path: string): boolean {
  try {
    return statSync(path).isDirectory()
  } catch {
    return false
  }
}

/** Whether this process may write `path` (a directory: create files in it). A missing path: its nearest parent. */
export function writable (path: string): boolean {
  let at = path
  while (!existsSync(at) && dirname(at) !== at) at = dirname(at)
  try {
    accessSync(at, constants.W_OK)
    return true
  } catch {
    return false
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
  const fileBacked = path !== '' && path !== ':memory:' && !path.startsWith('file:')
  if (fileBacked) refuseForeign(databaseOwnPaths(path))
  let db: Database
  try {
    if (!readonly && fileBacked) {
      mkdirSync(dirname(path), { recursive: true, mode: privateDirMode })
      if (!existsSync(path)) createDatabaseFile(path)
    }
    if (fileBacked) tightenDatabase(path, dirname(path))
    const { BetterSqlite3, nativeBinding } = sqliteDriver()
    db = new BetterSqlite3(path, { readonly, fileMustExist: readonly, ...(nativeBinding != null ? { nativeBinding } : {}) })
    db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 10 * secondMs}`)
    // SQLite reads the file only at the first statement: a file that is not a database fails here, as an open error.
    db.prepare('SELECT 1 FROM sqlite_master LIMIT 1').get()
    if (!readonly) {
      // journal_mode=WAL needs a write lock the first time only; later opens see WAL already set.
      if ((db.pragma('journal_mode', { simple: true }) as string) !== 'wal') db.pragma('journal_mode = WAL')
      db.pragma('synchronous = NORMAL')
      migrate(db, path)
    }
  } catch (err) {
    throw new DatabaseOpenError(path, err)
  }
  return db
}

/**
 * Creates the database file with its schema under a temporary name beside it, then links it into place in one step:
 * readers, which never migrate (search-open.ts), see no file or a migrated one, never one a writer is still creating
 * (its first migration not committed, WAL being set up: "no such table", "attempt to write a readonly database").
 * Losing the race to another creator is fine: theirs is used. Where the file system cannot link, the file is created
 * in place as before (readers then take it as empty until it has its schema). 0600 first: SQLite creates -wal and
 * -shm with the database file's mode.
 */
function createDatabaseFile (path: string): void {
  const temp = `${path}.new-${process.pid}-${randomBytes(4).toString('hex')}`
  try {
    createPrivateFile(temp)
    const { BetterSqlite3, nativeBinding } = sqliteDriver()
    const db = new BetterSqlite3(temp, nativeBinding != null ? { nativeBinding } : {})
    try {
      db.pragma('journal_mode = WAL')
      migrate(db, path)
    } finally {
      // The last connection's close checkpoints and removes -wal and -shm: the file alone holds it all.
      db.close()
    }
    linkSync(temp, path)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') createPrivateFile(path)
  } finally {
    for (const f of [temp, `${temp}-wal`, `${temp}-shm`]) rmSync(f, { force: true })
    removeAbandonedTemps(path)
  }
}

/**
 * The temporary files of creators of `path` that died before linking theirs into place (killed, power lost): named
 * `<db>.new-<pid>-<hex>` (with -wal, -shm), they are never the database and nobody else removes them.
 */
function removeAbandonedTemps (path: string): void {
  const prefix = `${basename(path)}.new-`
  let names: string[]
  try {
    names = readdirSync(dirname(path))
  } catch {
    return
  }
  for (const name of names) {
    if (!name.startsWith(prefix)) continue
    const m = /^(\d+)-[0-9a-f]{8}(-wal|-shm|-journal)?$/.exec(name.slice(prefix.length))
    if (m != null && Number(m[1]) !== process.pid && processIsGone(Number(m[1]))) rmSync(join(dirname(path), name), { force: true })
  }
}

/**
 * Moves the record spool of `path` into `db`, an open writable handle on it (a command or server that holds the
 * database for its whole run, so it sees what was recorded up to now). A failed drain (a lock held past the busy
 * timeout, say) is not an error: the files wait for the next one, and `rr doctor` shows how many.
 */
export function drainSpoolInto (db: Database, path: string): DrainResult | undefined {
  try {
    return drainSpool(db, path)
  } catch {
    return undefined
  }
}

/** True for SQLite's "another connection holds the lock" errors, also when wrapped in a DatabaseOpenError. */
export function isLockError (err: unknown): boolean {
  let e = err as { code?: unknown, cause?: unknown } | undefined
  for (let depth = 0; e != null && depth < 4; depth++) {
    if (typeof e.code === 'string' && /^SQLITE_(BUSY|LOCKED)/.test(e.code)) return true
    e = e.cause as typeof e
  }
  return false
}

export interface SpoolDrainOptions extends DrainOptions {
  /** How long to wait for another process's write lock before giving up on draining (not an error). @default 50 ms */
  busyTimeoutMs?: number
}

export interface SpoolDrainOutcome extends DrainResult {
  /** Set when the database was locked and nothing was drained. */
  skipped?: 'locked'
}

/**
 * For read-only users (search, history, doctor, sync-status): moves the spool of the database at `dbPath` into it
 * first. Only a readdir when the spool is empty; otherwise opens the database writable (creating it if needed)
 * with a short busy timeout, and when another process holds the write lock (a bulk import) drains nothing and
 * says so instead of waiting behind it.
 */
export function drainSpoolFor (dbPath: string, options: SpoolDrainOptions = {}): SpoolDrainOutcome {
  const dir = spoolDirOf(dbPath)
  if (dir == null) return { ...emptyDrain }
  refuseForeign(databaseOwnPaths(dbPath))
  promoteAbandoned(dir)
  if (candidates(dir, listSpool(dir), options).length === 0) return { ...emptyDrain }
  const locked = (): SpoolDrainOutcome => ({ ...emptyDrain, pending: listSpool(dir).filter((n) => readyName.test(n)).length, skipped: 'locked' })
  let db: Database
  try {
    db = openDatabase(dbPath, { busyTimeoutMs: options.busyTimeoutMs ?? 50 })
  } catch (err) {
    if (isLockError(err)) return locked()
    throw err
  }
  try {
    return drainSpool(db, dbPath, options)
  } catch (err) {
    if (isLockError(err)) return locked()
    throw err
  } finally {
    db.close()
  }
}
