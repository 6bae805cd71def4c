/**
 * Draining the record spool (see spool-files.ts) into the database: the files are claimed, read, validated and
 * inserted in record order, each chunk in one immediate transaction with the counters they carry, and removed only
 * after that transaction commits. Any number of drainers (processes, worker threads) may run at once: a claim is a
 * rename, so exactly one of them gets each file, and claiming happens under the write lock, so ingest_seq follows
 * the record order. A file that is not a valid record is moved to `rejected/` and counted (`spool.rejected`),
 * never deleted and never in the way of the others. Claims left by a drainer that died, and `.tmp-` files left by
 * a recorder that died, are picked up again; entry_id dedup makes a second ingest of an entry harmless.
 */
import { closeSync, fstatSync, linkSync, mkdirSync, openSync, readSync, renameSync, statSync, unlinkSync } from 'node:fs'
import { join } from 'node:path'
import type { Database } from 'better-sqlite3'
import { validateEntry, type Entry } from '../core/entry.js'
import { processIsGone } from '../core/pid.js'
import { insertEntriesNoTx } from './entries.js'
import { incrementCounter } from './peers.js'
import { claimNameOf, claimPrefix, listSpool, parseClaimName, pendingDir, pendingName, readyName, readyNameOf, rejectedDir, spoolDirOf, tmpPrefix } from './spool-files.js'
import { minuteMs } from '../core/units.js'

const KiB = 1024

export interface DrainResult {
  /** Entries newly stored. */
  inserted: number
  /** Entries already present (a second ingest of the same entry_id). */
  ignored: number
  /** Files moved to rejected/ (not a valid record). */
  rejected: number
  /** Ready files left in the spool afterwards (new arrivals, or claimed by another drainer). */
  pending: number
}

export interface DrainOptions {
  /** Files per transaction. @default 2000 */
  chunkFiles?: number
  /** A `.tmp-` file this old is a recorder that died before its rename. @default 10 minutes */
  staleTmpMs?: number
  /**
   * A claim this old is taken over even when its pid lives (reused by another process, or this one's claim was
   * never released). @default 10 minutes
   */
  staleClaimMs?: number
}

/** The counter that counts rejected spool files. */
export const rejectedCounter = 'spool.rejected'
/** Larger than any file `rr record` writes (a 64 KiB command JSON-escaped, a 4 KiB cwd). */
const maxFileBytes = 1024 * KiB
const counterName = /^(?:truncated|skipped\.[A-Za-z0-9_]{1,64})$/

export const emptyDrain: Readonly<DrainResult> = Object.freeze({ inserted: 0, ignored: 0, rejected: 0, pending: 0 })

class InvalidSpoolFileError extends Error {
  static override readonly name = 'InvalidSpoolFileError'
  override readonly name = 'InvalidSpoolFileError'
}

export interface Candidate {
  /** Its name in the directory now. */
  file: string
  /** Its ready name: the sort key, the claim suffix and the name in rejected/. */
  key: string
}

interface Parsed {
  entry?: Entry
  counters: string[]
}

function errno (err: unknown): string | undefined {
  return (err as NodeJS.ErrnoException | undefined)?.code
}

/**
 * Turns the pending records of shells that are gone (the command was still running when its terminal closed or its
 * shell was killed) into ready files, so the drain stores them with their unknown exit status. A rename: whichever
 * drainer gets there first moves it, the others see ENOENT. A shell that recorded the command after all sent the
 * same entry_id, so the second of the two is ignored by entry_id dedup. Returns how many it moved.
 */
export function promoteAbandoned (dir: string): number {
  const pending = join(dir, pendingDir)
  let moved = 0
  let recorded: Set<string> | undefined
  for (const name of listSpool(pending)) {
    const m = pendingName.exec(name)
    if (m == null || !processIsGone(Number(m[1]))) continue
    if (m[3] === 'done') {
      // The end of a command whose start never came (or came after it): nothing to keep once the shell is gone.
      try { unlinkSync(join(pending, name)) } catch {}
      continue
    }
    // A start that lost the race against its own end: the completed file is in the spool (ready or claimed), and it
    // is the one to store. Dropping the start here matters: in the same millisecond both would have one name.
    const source = join(pending, name)
    if ((recorded ??= recordedIds(dir)).has(m[2]!)) {
      try { unlinkSync(source) } catch {}
      continue
    }
    // Link, never rename: a rename would replace a completed file of the same name. EEXIST means one is there.
    try {
      linkSync(source, join(dir, readyNameOf(Date.now(), m[2]!)))
      moved++
    } catch (err) {
      if (errno(err) !== 'ENOENT' && errno(err) !== 'EEXIST') throw err
    }
    try { unlinkSync(source) } catch {}
  }
  return moved
}

/** The entry ids of the commands waiting in the spool: ready files and claims (`….<entry_id>.json`). */
function recordedIds (dir: string): Set<string> {
  const ids = new Set<string>()
  for (const name of listSpool(dir)) {
    const m = /([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})\.json$/.exec(name)
    if (m != null) ids.add(m[1]!)
  }
  return ids
}

/** The files this drainer may take, in record order: ready ones, dead drainers' claims, dead recorders' tmp files. */
export function candidates (dir: string, names: readonly string[], options: DrainOptions = {}, now = Date.now()): Candidate[] {
  const found: Candidate[] = []
  for (const name of names) {
    if (readyName.test(name)) {
      found.push({ file: name, key: name })
    } else if (name.startsWith(claimPrefix)) {
      const claim = parseClaimName(name)
      if (claim == null) continue
      // A claim of this process belongs to another of its drainers (a worker thread) unless it is stale.
      const stale = ageMs(join(dir, name), 'ctimeMs', now) > (options.staleClaimMs ?? 10 * minuteMs)
      if (stale || (claim.pid !== process.pid && processIsGone(claim.pid))) found.push({ file: name, key: claim.key })
    } else if (name.startsWith(tmpPrefix)) {
      // Named as if its recorder had finished: its time and id, so it sorts where it was recorded.
      const stat = statOrUndefined(join(dir, name))
      if (stat == null || now - stat.mtimeMs <= (options.staleTmpMs ?? 10 * minuteMs)) continue
      const key = readyNameOf(stat.mtimeMs, name.slice(tmpPrefix.length))
      if (readyName.test(key)) found.push({ file: name, key })
    }
  }
  return found.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
}

function statOrUndefined (path: string): { mtimeMs: number, ctimeMs: number } | undefined {
  try {
    return statSync(path)
  } catch {
    return undefined
  }
}

function ageMs (path: string, field: 'mtimeMs' | 'ctimeMs', now: number): number {
  const stat = statOrUndefined(path)
  return stat == null ? 0 : now - stat[field]
}

function readSmallFile (path: string): string {
  const fd = openSync(path, 'r')
  try {
    const stat = fstatSync(fd)
    const size = stat.size
    // Only this user's `rr record` writes here: a file of another user's is none of ours (set aside as rejected).
    const uid = process.getuid?.()
    if (uid != null && stat.uid !== uid) throw new InvalidSpoolFileError(`owned by another user (uid ${stat.uid})`)
    if (size > maxFileBytes) throw new InvalidSpoolFileError(`${size} bytes, more than ${maxFileBytes}`)
    const buffer = Buffer.alloc(size)
    let got = 0
    while (got < size) {
      const n = readSync(fd, buffer, got, size - got, null)
      if (n <= 0) break
      got += n
    }
    return buffer.toString('utf8', 0, got)
  } finally {
    closeSync(fd)
  }
}

/** Parses and validates one spool file's text. Throws on anything that is not a record `rr record` could write. */
export function parseSpoolRecord (text: string): Parsed {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (err) {
    throw new InvalidSpoolFileError(`not JSON: ${(err as Error).message}`)
  }
  if (raw == null || typeof raw !== 'object' || Array.isArray(raw)) throw new InvalidSpoolFileError('not a JSON object')
  const { entry, counters } = raw as { entry?: unknown, counters?: unknown }
  if (counters !== undefined && !(Array.isArray(counters) && counters.every((c) => typeof c === 'string' && counterName.test(c)))) {
    throw new InvalidSpoolFileError('counters must be a list of counter names')
  }
  const names = (counters as string[] | undefined) ?? []
  if (entry === undefined) {
    if (names.length === 0) throw new InvalidSpoolFileError('holds neither an entry nor counters')
    return { counters: names }
  }
  return { entry: validateEntry(entry), counters: names }
}

interface Claimed {
  claim: string
  key: string
  /** Set when the file is not a valid record: it goes to rejected/ after the commit. */
  rejected?: string
}

/** Puts claimed files back under their ready names (the transaction failed: the next drain takes them). */
function release (dir: string, claimed: readonly Claimed[]): void {
  for (const c of claimed) {
    try {
      renameSync(join(dir, c.claim), join(dir, c.key))
    } catch {
      // Still a claim of this process: taken over once the process is gone (or after staleClaimMs).
    }
  }
}

/**
 * Drops the spool_done rows of files that are gone. Runs inside the drain's transaction, under the write lock: a
 * row's file is absent only once the drainer that committed the row has removed it (or moved it to rejected/),
 * so its row can no longer be needed. One readdir, and only when there are rows.
 */
function forgetFinished (db: Database, dir: string): void {
  const keys = db.prepare('SELECT key FROM spool_done').pluck().all() as string[]
  if (keys.length === 0) return
  // Ready files under their own names, claims under the name they took.
  const present = new Set(listSpool(dir).map((name) => parseClaimName(name)?.key ?? name))
  const forget = db.prepare('DELETE FROM spool_done WHERE key = ?')
  for (const key of keys) if (!present.has(key)) forget.run(key)
}

/** Removes what a committed transaction stored, and moves rejected files aside. */
function finish (dir: string, claimed: readonly Claimed[]): void {
  let rejectedReady = false
  for (const c of claimed) {
    try {
      if (c.rejected == null) {
        unlinkSync(join(dir, c.claim))
      } else {
        if (!rejectedReady) {
          mkdirSync(join(dir, rejectedDir), { recursive: true, mode: 0o700 })
          rejectedReady = true
        }
        renameSync(join(dir, c.claim), join(dir, rejectedDir, c.key))
      }
    } catch {
      // A leftover claim is harmless: a later drain takes it over and entry_id dedup ignores it.
    }
  }
}

/**
 * Moves the spool of the database at `dbPath` into `db` (opened writable on that path) and reports what it did.
 * Costs one readdir when the spool is empty. Throws what SQLite throws (e.g. SQLITE_BUSY once the busy timeout
 * passes); files claimed by the failed transaction are put back first.
 */
export function drainSpool (db: Database, dbPath: string, options: DrainOptions = {}): DrainResult {
  const dir = spoolDirOf(dbPath)
  if (dir == null) return { ...emptyDrain }
  promoteAbandoned(dir)
  const todo = candidates(dir, listSpool(dir), options)
  if (todo.length === 0) return { ...emptyDrain }
  const chunkFiles = Math.max(1, options.chunkFiles ?? 2000)
  const result: DrainResult = { ...emptyDrain }
  let next = 0
  while (next < todo.length) {
    const claimed: Claimed[] = []
    const chunk = db.transaction(() => {
      // Claimed under the write lock: no other drainer commits in between, so the order holds across drainers.
      while (next < todo.length && claimed.length < chunkFiles) {
        const c = todo[next++]!
        const claim = claimNameOf(process.pid, c.key)
        try {
          renameSync(join(dir, c.file), join(dir, claim))
        } catch (err) {
          if (errno(err) === 'ENOENT') continue // another drainer has it
          throw err
        }
        claimed.push({ claim, key: c.key })
      }
      forgetFinished(db, dir)
      const counters = new Map<string, number>()
      const bump = (name: string, by = 1): void => { counters.set(name, (counters.get(name) ?? 0) + by) }
      // Counted at most once per file, even when a drainer died between its commit and removing the file.
      const noteDone = db.prepare('INSERT OR IGNORE INTO spool_done (key) VALUES (?)')
      const firstTime = (key: string): boolean => noteDone.run(key).changes === 1
      let run: Entry[] = []
      let inserted = 0
      let ignored = 0
      const flush = (): void => {
        if (run.length === 0) return
        const r = insertEntriesNoTx(db, run)
        inserted += r.inserted
        ignored += r.ignored
        run = []
      }
      for (const c of claimed) {
        let parsed: Parsed
        try {
          parsed = parseSpoolRecord(readSmallFile(join(dir, c.claim)))
        } catch (err) {
          // Not a record (or unreadable): set aside, never in the way of the others.
          c.rejected = err instanceof Error ? err.message : String(err)
          if (firstTime(c.key)) bump(rejectedCounter)
          continue
        }
        if (parsed.entry == null) {
          if (firstTime(c.key)) for (const name of parsed.counters) bump(name)
        } else if (parsed.counters.length === 0) {
          run.push(parsed.entry)
        } else {
          // An entry's counters (truncated) count once: only when this ingest stored it.
          flush()
          const r = insertEntriesNoTx(db, [parsed.entry])
          inserted += r.inserted
          ignored += r.ignored
          if (r.inserted === 1) for (const name of parsed.counters) bump(name)
        }
      }
      flush()
      for (const [name, by] of counters) incrementCounter(db, name, by)
      return { inserted, ignored, rejected: counters.get(rejectedCounter) ?? 0 }
    })
    let done: { inserted: number, ignored: number, rejected: number }
    try {
      done = chunk.immediate()
    } catch (err) {
      release(dir, claimed)
      throw err
    }
    finish(dir, claimed)
    result.inserted += done.inserted
    result.ignored += done.ignored
    result.rejected += done.rejected
  }
  result.pending = listSpool(dir).filter((name) => readyName.test(name)).length
  return result
}
