/**
 * The commands waiting in the record spool, read without SQLite, for ctrl+r's first screen: moving them into the
 * database (db.ts drainSpoolFor) loads the write side (migrations, entry validation, libsodium) and takes a write
 * transaction, tens of ms that would come before the first row. ctrl+r shows them from here and drains after the
 * first screen (feed.ts). Only what a drain would store is shown: files `rr record` finished (ready, or claimed by a
 * drainer at work), and the pending start of a shell that is gone (promoted by the drain, exit status unknown) unless
 * its completed record is there too. A file that does not parse or validate is left out; the drain decides its fate.
 */
import { join } from 'node:path'
import { validateEntry, type Entry } from '../core/entry.js'
import { processIsGone } from '../core/pid.js'
import type { FeedFilters } from '../store/search.js'
import { listSpool, parseClaimName, pendingDir, pendingName, readyName, rejectedDir, spoolDirOf } from '../store/spool-files.js'

const { readFileSync } = process.getBuiltinModule('node:fs')

/** A spool file holds one JSON record; more than this is not one `rr record` wrote (spool.ts refuses it too). */
const maxPeekBytes = 1024 * 1024

function readEntry (path: string): Entry | undefined {
  try {
    const text = readFileSync(path, 'utf8')
    if (text.length > maxPeekBytes) return undefined
    const { entry } = JSON.parse(text) as { entry?: unknown }
    return entry === undefined ? undefined : validateEntry(entry)
  } catch {
    return undefined // gone meanwhile (drained), or not a record: not shown
  }
}

/** True when the entry passes the filters, as filterClause's SQL would decide. Pure. */
export function entryMatches (entry: Entry, filters: FeedFilters): boolean {
  if (filters.since != null && entry.ts < filters.since) return false
  if (filters.until != null && entry.ts > filters.until) return false
  if (filters.cwd != null && entry.cwd !== filters.cwd) return false
  if (filters.hostname != null && entry.hostname !== filters.hostname) return false
  if (filters.deviceId != null && entry.device_id !== filters.deviceId) return false
  if (filters.exitCode != null && entry.exit_code !== filters.exitCode) return false
  if (filters.sessionId != null && entry.session_id !== filters.sessionId) return false
  return true // timedOnly leaves out untimed imports, and nothing in the spool is an import
}

/** UI order (ts, device_id, entry_id), newest first, as SQL compares them. Pure. */
export function newerFirst (a: Entry, b: Entry): number {
  if (a.ts !== b.ts) return a.ts > b.ts ? -1 : 1
  if (a.device_id !== b.device_id) return a.device_id > b.device_id ? -1 : 1
  return a.entry_id > b.entry_id ? -1 : a.entry_id < b.entry_id ? 1 : 0
}

export interface SpoolPeek {
  /** What the spool would add that passes the filters, newest first. */
  entries: Entry[]
  /** True when a drain has anything to do (spoolWaiting), shown or not. */
  waiting: boolean
}

/** Reads the entries waiting in the spool of `dbPath` that pass `filters`. */
export function peekSpool (dbPath: string, filters: FeedFilters): SpoolPeek {
  const dir = spoolDirOf(dbPath)
  if (dir == null) return { entries: [], waiting: false }
  const found = new Map<string, Entry>()
  let waiting = false
  for (const name of listSpool(dir)) {
    if (name === pendingDir || name === rejectedDir) continue
    waiting = true
    const key = readyName.test(name) ? name : parseClaimName(name)?.key
    if (key == null) continue
    const entry = readEntry(join(dir, name))
    if (entry != null) found.set(entry.entry_id, entry)
  }
  for (const name of listSpool(join(dir, pendingDir))) {
    const m = pendingName.exec(name)
    if (m == null) { waiting = true; continue }
    if (!processIsGone(Number(m[1]))) continue
    waiting = true
    if (m[3] !== 'json' || found.has(m[2]!)) continue
    const entry = readEntry(join(dir, pendingDir, name))
    if (entry != null) found.set(entry.entry_id, entry)
  }
  const entries = [...found.values()].filter((e) => entryMatches(e, filters)).sort(newerFirst)
  return { entries, waiting }
}
