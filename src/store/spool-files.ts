/**
 * The record spool on disk: `<db_path>-spool/`, a maildir-style directory beside the database (like SQLite's
 * `-wal`). `rr record` runs on every prompt and must not pay for opening SQLite, so it writes each command as one
 * small JSON file here; every rr command that opens the database, and the long-running servers, move the files
 * into it (src/store/spool.ts). No SQLite here: this module is on the `rr record` hot path.
 *
 * A file is written as `.tmp-<id>` (0600) and renamed to `<13-digit Date.now()>-<id>.json`, so a drainer only ever
 * sees complete files and sorting the names gives the record order. A drainer claims a file by renaming it to
 * `.claim-<pid>-<name>`; rejected files go to `rejected/`.
 */
import { dirname, join } from 'node:path'
import type { Entry } from '../core/entry.js'
import { refuseForeign } from '../config/private-files.js'

// node:fs through process.getBuiltinModule rather than `import`: importing it as an ES module evaluates every lazy
// export (the stream classes and their modules), ~3 ms of each `rr record` start, the hot path this module is on.
const { closeSync, mkdirSync, openSync, readdirSync, readSync, renameSync, unlinkSync, writeFileSync } = process.getBuiltinModule('node:fs')

/** What one spool file holds: a recorded entry, and/or counters to bump (`truncated`, `skipped.<reason>`). */
export interface SpoolRecord {
  entry?: Entry
  counters?: string[]
}

export const spoolSuffix = '-spool'
/** A file ready to drain: `<13-digit ms>-<uuid>.json`. */
export const readyName = /^\d{13}-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.json$/
export const tmpPrefix = '.tmp-'
export const claimPrefix = '.claim-'
export const rejectedDir = 'rejected'
/**
 * Commands still running: `pending/<shell pid>-<entry_id>.json`, written when a command starts (exit status unknown),
 * removed when the shell records it at the next prompt. One whose shell is gone becomes a ready file
 * (spool.ts promoteAbandoned), so a command killed with its terminal is kept.
 */
export const pendingDir = 'pending'
export const pendingName = /^(\d+)-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.(json|done)$/

export function pendingNameOf (pid: number, entryId: string): string {
  return `${pid}-${entryId}.json`
}

/** A claim's name: the claiming process and the ready name it took. */
export function claimNameOf (pid: number, key: string): string {
  return `${claimPrefix}${pid}-${key}`
}

/** The claiming pid and the ready name inside a claim's name; undefined for any other name. */
export function parseClaimName (name: string): { pid: number, key: string } | undefined {
  const m = /^\.claim-(\d+)-(.+)$/.exec(name)
  return m != null && readyName.test(m[2]!) ? { pid: Number(m[1]), key: m[2]! } : undefined
}

/** The spool directory of a database, or undefined for one that has no file (`:memory:`, ''). */
export function spoolDirOf (dbPath: string): string | undefined {
  if (dbPath === '' || dbPath === ':memory:' || dbPath.startsWith('file:')) return undefined
  return `${dbPath}${spoolSuffix}`
}

/** The name a file is drained under: its record time (ms, 13 digits) and id sort it in record order. */
export function readyNameOf (ms: number, id: string): string {
  return `${String(Math.max(0, Math.floor(ms))).padStart(13, '0')}-${id}.json`
}

/** The directory's entries, or [] when it does not exist. */
export function listSpool (dir: string): string[] {
  try {
    return readdirSync(dir)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT' || (err as NodeJS.ErrnoException).code === 'ENOTDIR') return []
    throw err
  }
}

/** How many files wait to be drained (claims in progress not counted). */
export function countReady (dir: string): number {
  let n = 0
  for (const name of listSpool(dir)) if (readyName.test(name)) n++
  return n
}

/**
 * Creates the spool directory (0700) and the database's directory if missing. One another user made (the database
 * is in /tmp, and they were first) is refused: they could read the commands written there and plant their own.
 */
export function ensureSpoolDir (dir: string): void {
  mkdirSync(dirname(dir), { recursive: true, mode: 0o700 })
  try {
    mkdirSync(dir, { mode: 0o700 })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
    refuseForeign([dir])
  }
}

/**
 * 16 random bytes from /dev/urandom: node:crypto (or the lazily loaded Web Crypto behind globalThis.crypto) costs
 * `rr record` ~4 ms of start-up on every prompt; one small read costs ~0.3 ms.
 */
export function randomBytes16 (): Uint8Array {
  const bytes = new Uint8Array(16)
  try {
    const fd = openSync('/dev/urandom', 'r')
    try {
      let got = 0
      while (got < 16) {
        const n = readSync(fd, bytes, got, 16 - got, null)
        if (n <= 0) throw new Error('/dev/urandom returned no bytes')
        got += n
      }
    } finally {
      closeSync(fd)
    }
  } catch {
    globalThis.crypto.getRandomValues(bytes)
  }
  return bytes
}

/**
 * Writes one record into the spool: `.tmp-<id>` first, then an atomic rename to its ready name. Creates the
 * directory on first use. Returns the ready file's path.
 */
export function writeSpoolRecord (dir: string, id: string, record: SpoolRecord, now = Date.now()): string {
  refuseForeign([dir])
  const tmp = join(dir, `${tmpPrefix}${id}`)
  const text = JSON.stringify(record)
  try {
    writeFileSync(tmp, text, { mode: 0o600, flag: 'wx' })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    ensureSpoolDir(dir)
    writeFileSync(tmp, text, { mode: 0o600, flag: 'wx' })
  }
  const ready = join(dir, readyNameOf(now, id))
  renameSync(tmp, ready)
  return ready
}

function doneNameOf (pid: number, entryId: string): string {
  return `${pid}-${entryId}.done`
}

/**
 * Writes a started command's record into pending/ (atomically: tmp file, then rename). The start and the end of a
 * command run as two background processes, so the end may come first: it then leaves a `.done` mark, and the start
 * writes nothing.
 */
export function writePendingRecord (dir: string, pid: number, entry: Entry): void {
  const pending = join(dir, pendingDir)
  refuseForeign([dir, pending])
  try {
    unlinkSync(join(pending, doneNameOf(pid, entry.entry_id)))
    return // the command has ended already
  } catch {}
  const tmp = join(pending, `${tmpPrefix}${entry.entry_id}`)
  const text = JSON.stringify({ entry } satisfies SpoolRecord)
  try {
    writeFileSync(tmp, text, { mode: 0o600, flag: 'w' })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    ensureSpoolDir(dir)
    mkdirSync(pending, { mode: 0o700, recursive: true })
    writeFileSync(tmp, text, { mode: 0o600, flag: 'w' })
  }
  renameSync(tmp, join(pending, pendingNameOf(pid, entry.entry_id)))
}

/**
 * Removes a started command's pending record once its completed entry is in the spool. When the start has not
 * written it yet, leaves a `.done` mark for it instead (see writePendingRecord).
 */
export function removePendingRecord (dir: string, pid: number, entryId: string): void {
  refuseForeign([dir, join(dir, pendingDir)])
  try {
    unlinkSync(join(dir, pendingDir, pendingNameOf(pid, entryId)))
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    try {
      writeFileSync(join(dir, pendingDir, doneNameOf(pid, entryId)), '', { mode: 0o600 })
    } catch {
      // No pending/ directory: no start was ever written for this shell's commands (or it is already gone).
    }
  }
}
