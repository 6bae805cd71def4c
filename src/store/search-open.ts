/**
 * Opening the database for reading (search, history, stats, ctrl+r) with only better-sqlite3 loaded. The write side
 * (db.ts: migrations and the spool drain, and through them entry validation and libsodium) is loaded only when the
 * spool holds something to move in, or to word a failed open: ctrl+r pays for neither on the way to its first screen.
 *
 * Paths given to `require` are written from src/store/ as `../store/…`: bin/rr also runs this code bundled into
 * dist/src/search.cjs, whose import.meta.url names dist/src/search/fast.js, one level below dist/src as this file is.
 */
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import BetterSqlite3, { type Database } from 'better-sqlite3'
import { databaseOwnPaths, refuseForeign, tightenDatabase } from '../config/private-files.js'
import { processIsGone } from '../core/pid.js'
import { listSpool, pendingDir, pendingName, rejectedDir, spoolDirOf } from './spool-files.js'
import { secondMs } from '../core/units.js'

const { existsSync } = process.getBuiltinModule('node:fs')
const require = createRequire(import.meta.url)

type WriteSide = typeof import('./db.js')
const writeSide = (): WriteSide => require('../store/db.js') as WriteSide

/** Read tuning for a search connection: a larger page cache and memory-mapped reads. */
export function tuneForReading (db: Database): void {
  db.pragma('cache_size = -65536')
  db.pragma('mmap_size = 1073741824')
}

/**
 * True when the spool of `dbPath` may hold something a drain would move in: any file in it (ready, claimed, being
 * written), or a pending start whose shell is gone. False for what only waits: an empty or missing spool, the
 * rejected/ directory, and the pending starts of shells still running. Two readdirs, no SQLite.
 */
export function spoolWaiting (dbPath: string): boolean {
  const dir = spoolDirOf(dbPath)
  if (dir == null) return false
  for (const name of listSpool(dir)) if (name !== pendingDir && name !== rejectedDir) return true
  for (const name of listSpool(join(dir, pendingDir))) {
    const m = pendingName.exec(name)
    if (m == null || processIsGone(Number(m[1]))) return true
  }
  return false
}

let addon: { path: string | undefined } | undefined

/**
 * better-sqlite3's addon, named directly so the `bindings` package does not search for it (as db.ts does). Its
 * JavaScript is imported statically above, so the ctrl+r bundle carries it (no module resolution per file).
 */
function nativeBinding (): string | undefined {
  if (addon == null) {
    addon = { path: undefined }
    try {
      const candidate = join(dirname(require.resolve('better-sqlite3/package.json')), 'build', 'Release', 'better_sqlite3.node')
      if (existsSync(candidate)) addon.path = candidate
    } catch {
      // Let better-sqlite3 find its addon itself.
    }
  }
  return addon.path
}

/**
 * db.ts's openDatabase(path, { readonly: true }), without loading db.ts unless the open fails. Undefined when the file
 * has no schema yet: a writer has created it and not committed its first migration (it is doing so now, or died
 * first; the next writer migrates it). Until then it holds nothing, as a file not created yet.
 */
function openReadOnly (path: string): Database | undefined {
  try {
    tightenDatabase(path, dirname(path))
    const binding = nativeBinding()
    const db = new BetterSqlite3(path, { readonly: true, fileMustExist: true, ...(binding != null ? { nativeBinding: binding } : {}) })
    try {
      db.pragma(`busy_timeout = ${10 * secondMs}`)
      // SQLite reads the file only at the first statement: a file that is not a database fails here.
      if (db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'entries'").get() == null) {
        db.close()
        return undefined
      }
    } catch (err) {
      db.close()
      throw err
    }
    return db
  } catch (err) {
    throw new (writeSide().DatabaseOpenError)(path, err)
  }
}

/**
 * Moves the spool into the database when spoolWaiting says there is something to move. A failure leaves the files for
 * the next drain (`rr doctor` counts them): it never stops a search.
 */
export function drainWaiting (dbPath: string): void {
  if (!spoolWaiting(dbPath)) return
  try {
    writeSide().drainSpoolFor(dbPath)
  } catch {
    // Left for the next drain.
  }
}

export interface SearchOpenOptions {
  /**
   * Move the record spool into the database first (db.ts drainSpoolFor, loaded only when spoolWaiting says there is
   * something to move; it never waits behind another process's write lock). The CLI's readers set it. @default false
   */
  drainSpool?: boolean
}

/**
 * Opens the database for reading only (no migration, no write lock), or returns undefined when it does not exist
 * yet, or has no schema yet (see openReadOnly): a fresh install has an empty history, not an error.
 */
export function openForSearch (path: string, options: SearchOpenOptions = {}): Database | undefined {
  // Another user's file here could show their commands as this user's, for ctrl+r to run.
  refuseForeign(databaseOwnPaths(path))
  if (options.drainSpool === true && spoolWaiting(path)) writeSide().drainSpoolFor(path)
  if (!existsSync(path)) return undefined
  const db = openReadOnly(path)
  if (db != null) tuneForReading(db)
  return db
}
