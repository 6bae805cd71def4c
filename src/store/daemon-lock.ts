/**
 * One `rr daemon` per database: an exclusive SQLite lock on `<db>.daemon.lock`, taken at start and held for the
 * life of the process (the kernel drops it when the process dies, kill -9 included, so a stale lock cannot
 * exist). Beside it, `<db>.daemon.json` says what the daemon is doing (pid, since, last round) for
 * `rr sync-status` and `rr doctor`; whether a daemon runs is read from the lock, never from a pid.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import Database from 'better-sqlite3'
import { foreignOwner, refuseForeign } from '../config/private-files.js'
import { RustoryError } from '../core/errors.js'
import { secondMs } from '../core/units.js'

export function daemonLockPath (dbPath: string): string {
  return `${dbPath}.daemon.lock`
}

export function daemonStatusPath (dbPath: string): string {
  return `${dbPath}.daemon.json`
}

/** What a running (or the last) daemon wrote about itself. */
export interface DaemonStatusFile {
  pid: number
  started_unix: number
  peer_id: string
  listen: string[]
  /** When the last sync round of any peer ended. */
  last_round_unix?: number
  /** Peers whose last round succeeded / failed. */
  peers_ok?: number
  peers_failed?: number
  /** Set on a clean stop. */
  stopped_unix?: number
}

export interface DaemonState {
  running: boolean
  status?: DaemonStatusFile
}

/** Another daemon holds the lock of this database. */
export class DaemonRunningError extends RustoryError {
  static override readonly name = 'DaemonRunningError'
  override readonly name = 'DaemonRunningError'
  override readonly exitCode = 1
}

export interface DaemonLock {
  /** Releases the lock (also released when the process exits). Idempotent. */
  release: () => void
}

function isBusy (err: unknown): boolean {
  const code = (err as { code?: string }).code
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED'
}

function sleepSync (ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms)
}

export function readDaemonStatusFile (dbPath: string): DaemonStatusFile | undefined {
  try {
    return JSON.parse(readFileSync(daemonStatusPath(dbPath), 'utf8')) as DaemonStatusFile
  } catch {
    return undefined
  }
}

export function writeDaemonStatusFile (dbPath: string, status: DaemonStatusFile): void {
  const path = daemonStatusPath(dbPath)
  const tmp = `${path}.tmp-${process.pid}`
  writeFileSync(tmp, `${JSON.stringify(status)}\n`, { mode: 0o600 })
  renameSync(tmp, path)
}

/**
 * Takes the lock or throws DaemonRunningError naming the running daemon. A status reader holds the lock for
 * microseconds, so a busy lock is retried for `waitMs` before giving up.
 */
export function acquireDaemonLock (dbPath: string, options: { waitMs?: number } = {}): DaemonLock {
  const path = daemonLockPath(dbPath)
  mkdirSync(dirname(path), { recursive: true })
  // Another user's lock (a database in /tmp) would let them keep this daemon from starting, their status file lie.
  refuseForeign([path, daemonStatusPath(dbPath)])
  const db = new Database(path)
  db.pragma('busy_timeout = 0')
  db.pragma('locking_mode = EXCLUSIVE')
  const deadline = Date.now() + (options.waitMs ?? secondMs)
  for (;;) {
    try {
      db.exec('BEGIN EXCLUSIVE')
      break
    } catch (err) {
      if (!isBusy(err)) { db.close(); throw err }
      if (Date.now() >= deadline) {
        db.close()
        const status = readDaemonStatusFile(dbPath)
        const who = status != null ? ` (pid ${status.pid}, running since ${new Date(status.started_unix * 1000).toISOString()})` : ''
        throw new DaemonRunningError(`another rr daemon already runs on ${dbPath}${who}; stop it first (kill ${status?.pid ?? '<pid>'}, or systemctl --user stop rustory when it runs as a service) or give this one another --db-path`)
      }
      sleepSync(50)
    }
  }
  let released = false
  return {
    release: () => {
      if (released) return
      released = true
      try { db.exec('ROLLBACK') } catch {}
      db.close()
    }
  }
}

/** Whether a daemon holds the lock of this database now, and what it last wrote about itself. */
export function daemonState (dbPath: string): DaemonState {
  // Another user's lock or status file says nothing about this user's daemon.
  if (foreignOwner(daemonLockPath(dbPath)) != null || foreignOwner(daemonStatusPath(dbPath)) != null) return { running: false }
  const status = readDaemonStatusFile(dbPath)
  let running = false
  let db: Database.Database | undefined
  try {
    db = new Database(daemonLockPath(dbPath), { fileMustExist: true })
    db.pragma('busy_timeout = 0')
    db.prepare('SELECT count(*) FROM sqlite_master').get()
  } catch (err) {
    running = isBusy(err)
  } finally {
    db?.close()
  }
  return { running, ...(status != null ? { status } : {}) }
}
