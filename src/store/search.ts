/**
 * The read side of search: the filter → SQL builder (pure), the ctrl+r feed statement in UI order
 * (ts, device_id, entry_id, newest first), `rr history` rows, and `rr stats` aggregates.
 * Every feed/history query walks a ts index backwards, so the first rows come back at once on any size: the
 * unfiltered feed walks command_latest (one row per distinct command, schema v3), a filtered one walks entries.
 */
import type { Database } from 'better-sqlite3'
import { entryColumns, withoutNulls, type Entry } from '../core/entry.js'
import { rowOriginSql, wireIdSql } from './wire-id.js'

// Opening lives in search-open.ts (only better-sqlite3 loaded); re-exported for the readers that import it from here.
export { openForSearch, spoolWaiting, tuneForReading, type SearchOpenOptions } from './search-open.js'

/** Resolved filters; every field is optional and they combine with AND. */
export type FeedFilters = {
  /** Exact working directory. */
  cwd?: string
  /** Exact hostname. */
  hostname?: string
  /** Exact device_id. */
  deviceId?: string
  exitCode?: number
  /** Canonical RFC3339; ts >= since. */
  since?: string
  /** Canonical RFC3339; ts <= until. */
  until?: string
  /** Exact session_id (entries recorded by one shell). */
  sessionId?: string
  /**
   * With `since`: leave out imported commands that had no timestamp of their own (their ts is a guess). Set by
   * the functions below when the database has import batches (schema v6). @default false
   */
  timedOnly?: boolean
}

/** The filters, with `timedOnly` set when `since` is given and this database marks untimed imports. */
export function untimedAware (db: Database, filters: FeedFilters): FeedFilters {
  if (filters.since == null || filters.timedOnly != null) return filters
  const marks = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'import_batch_entries'").get() != null
  return marks ? { ...filters, timedOnly: true } : filters
}

/** The UI-order key of a row: where a feed continues from (exclusive). */
export type FeedKey = [ts: string, deviceId: string, entryId: string]

export interface SqlPart {
  sql: string
  params: Array<string | number>
}

/** The newest-first UI order, served by entries_ts / command_latest_ts (ts, device_id, entry_id) walked backwards. */
export const newestFirst = 'ORDER BY ts DESC, device_id DESC, entry_id DESC'

/**
 * Where a feed reads: `command_latest` holds each distinct command once at its most recent use (so its rows need
 * no dedup), `entries` every use (the caller keeps the first of each command).
 */
export type FeedSource = 'command_latest' | 'entries'

/** True when any filter is set. Pure. */
export function hasFilters (filters: FeedFilters): boolean {
  return Object.entries(filters).some(([k, v]) => k !== 'timedOnly' && v != null)
}

/** True when the database has the command_latest table (schema v3; a read-only open does not migrate). */
export function hasCommandLatest (db: Database): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'command_latest'").get() != null
}

/** command_latest for an unfiltered feed when the table exists, else entries. */
export function feedSource (db: Database, filters: FeedFilters): FeedSource {
  return !hasFilters(filters) && hasCommandLatest(db) ? 'command_latest' : 'entries'
}

/** Builds the WHERE clause for filters (and an optional keyset position to continue after). Pure. */
export function filterClause (filters: FeedFilters, after?: FeedKey): SqlPart {
  const terms: string[] = []
  const params: Array<string | number> = []
  if (filters.since != null) { terms.push('ts >= ?'); params.push(filters.since) }
  if (filters.until != null) { terms.push('ts <= ?'); params.push(filters.until) }
  if (filters.cwd != null) { terms.push('cwd = ?'); params.push(filters.cwd) }
  if (filters.hostname != null) { terms.push('hostname = ?'); params.push(filters.hostname) }
  if (filters.deviceId != null) { terms.push('device_id = ?'); params.push(filters.deviceId) }
  if (filters.exitCode != null) { terms.push('exit_code = ?'); params.push(filters.exitCode) }
  if (filters.sessionId != null) { terms.push('session_id = ?'); params.push(filters.sessionId) }
  if (filters.since != null && filters.timedOnly === true) terms.push('entry_id NOT IN (SELECT entry_id FROM import_batch_entries WHERE untimed = 1)')
  if (after != null) { terms.push('(ts, device_id, entry_id) < (?, ?, ?)'); params.push(...after) }
  return { sql: terms.length === 0 ? '' : `WHERE ${terms.join(' AND ')}`, params }
}

function feedSql (columns: string, filters: FeedFilters, after: FeedKey | undefined, source: FeedSource): SqlPart {
  // command_latest keeps no cwd/host/exit: it serves the unfiltered feed only.
  if (source === 'command_latest' && hasFilters(filters)) throw new Error('command_latest serves the unfiltered feed only')
  const where = filterClause(filters, after)
  return { sql: `SELECT ${columns} FROM ${source} ${where.sql} ${newestFirst}`, params: where.params }
}

/** The feed with its keys (for the head page, which hands its position to the worker). Pure. */
export function feedKeyedSql (filters: FeedFilters, after?: FeedKey, source: FeedSource = 'entries'): SqlPart {
  return feedSql('cmd, ts, device_id, entry_id', filters, after, source)
}

/**
 * The feed with what a ctrl+r row shows (FeedRow). command_latest keeps only the key and the command: the rest comes
 * from the entry it points at, one unique-index lookup per row (CROSS JOIN keeps command_latest's ts index as the
 * outer loop, so rows still come newest first without a sort). Pure.
 */
export function feedRowsSql (filters: FeedFilters, after?: FeedKey, source: FeedSource = 'entries'): SqlPart {
  const meta = 'cwd, exit_code, duration_ms, hostname'
  if (source === 'entries') return feedSql(`cmd, ts, device_id, entry_id, ${meta}`, filters, after, source)
  if (hasFilters(filters)) throw new Error('command_latest serves the unfiltered feed only')
  const where = after != null ? 'WHERE (c.ts, c.device_id, c.entry_id) < (?, ?, ?)' : ''
  return {
    sql: `SELECT c.cmd, c.ts, c.device_id, c.entry_id, e.cwd, e.exit_code, e.duration_ms, e.hostname
          FROM command_latest c CROSS JOIN entries e ON e.entry_id = c.entry_id ${where}
          ORDER BY c.ts DESC, c.device_id DESC, c.entry_id DESC`,
    params: after != null ? [...after] : []
  }
}

/** One ctrl+r row: the key (ts, device_id, entry_id), the command, and what the row and the preview show. */
export type FeedRow = [cmd: string, ts: string, deviceId: string, entryId: string, cwd: string, exitCode: number, durationMs: number, hostname: string]

/** Rows newest first, with their metadata (see feedRowsSql). */
export function iterateFeedRows (db: Database, filters: FeedFilters, after?: FeedKey,
  source: FeedSource = feedSource(db, filters)): IterableIterator<FeedRow> {
  if (matchesNothing(db, filters)) return [][Symbol.iterator]()
  const { sql, params } = feedRowsSql(filters, after, source)
  return db.prepare(sql).raw().iterate(...params) as IterableIterator<FeedRow>
}

/** The feed's commands only (the worker's bulk scan). Pure. */
export function feedCmdSql (filters: FeedFilters, after?: FeedKey, source: FeedSource = 'entries'): SqlPart {
  return feedSql('cmd', filters, after, source)
}

/** The command of an entry, or undefined. */
export function commandById (db: Database, entryId: string): string | undefined {
  return db.prepare('SELECT cmd FROM entries WHERE entry_id = ? LIMIT 1').pluck().get(entryId) as string | undefined
}

/** True when entries has the session_id column (schema v8). */
export function hasSessionColumn (db: Database): boolean {
  return hasColumn(db, 'session_id')
}

/** True when entries has this column (read-only opens do not migrate). */
function hasColumn (db: Database, name: string): boolean {
  return db.prepare('SELECT 1 FROM pragma_table_info(\'entries\') WHERE name = ?').get(name) != null
}

/**
 * True when the filters can match nothing on this database without asking it: a session filter on a database from
 * before schema v8 (read-only opens do not migrate), where no entry has a session.
 */
export function matchesNothing (db: Database, filters: FeedFilters): boolean {
  return filters.sessionId != null && !hasSessionColumn(db)
}

/** Rows [cmd, ts, device_id, entry_id] newest first (from `source`: see FeedSource for whether they repeat). */
export function iterateFeedKeyed (db: Database, filters: FeedFilters, after?: FeedKey,
  source: FeedSource = feedSource(db, filters)): IterableIterator<[string, string, string, string]> {
  const { sql, params } = feedKeyedSql(untimedAware(db, filters), after, source)
  return db.prepare(sql).raw().iterate(...params) as IterableIterator<[string, string, string, string]>
}

/**
 * Commands newest first. From entries duplicates are included (the caller keeps each command's most recent use);
 * from command_latest each comes once.
 */
export function iterateFeedCmds (db: Database, filters: FeedFilters, after?: FeedKey,
  source: FeedSource = feedSource(db, filters)): IterableIterator<string> {
  if (matchesNothing(db, filters)) return [][Symbol.iterator]()
  const { sql, params } = feedCmdSql(untimedAware(db, filters), after, source)
  return db.prepare(sql).pluck().iterate(...params) as IterableIterator<string>
}

/** Whole entries newest first, for `rr history`; limit 0 means all. */
export function * iterateHistory (db: Database, filters: FeedFilters, limit = 0): IterableIterator<Entry> {
  if (matchesNothing(db, filters)) return
  const where = filterClause(untimedAware(db, filters))
  const session = hasSessionColumn(db)
  // A rival copy (schema v7) is shown under its wire entry_id, the one `rr delete` takes.
  const rivals = hasColumn(db, 'rival_of')
  const columns = entryColumns.map((c) => c === 'session_id' && !session ? 'NULL AS session_id' : c === 'entry_id' && rivals ? `${wireIdSql} AS entry_id` : c).join(', ')
  const sql = `SELECT ${columns} FROM entries ${where.sql} ${newestFirst}${limit > 0 ? ' LIMIT ?' : ''}`
  for (const row of db.prepare(sql).iterate(...where.params, ...(limit > 0 ? [limit] : []))) yield withoutNulls(row as Entry)
}

export interface HistoryStats {
  total: number
  /** Entries with a non-zero exit code. */
  failed: number
  /** failed / total, 0 when empty. */
  failureRate: number
  firstTs: string | null
  lastTs: string | null
  /** lastTs: the ts of the device's newest entry (by ts, not by when it was stored). */
  /**
   * keys: how many identity keys signed entries under this device_id (more than one: a name claimed by several
   * devices, see docs/TRUST.md); unverified: entries with no checked signature (older peers, 1.0.0, before v7).
   */
  devices: Array<{ deviceId: string, count: number, lastTs: string, keys: number, unverified: number }>
  topCommands: Array<{ cmd: string, count: number }>
  /** Known working directories only (imported entries have cwd ''). */
  topDirectories: Array<{ cwd: string, count: number }>
}

/** The aggregates of `rr stats`. */
export function collectStats (db: Database, top = 10): HistoryStats {
  const totals = db.prepare('SELECT COUNT(*) AS total, COALESCE(SUM(exit_code != 0), 0) AS failed FROM entries').get() as
    { total: number, failed: number }
  // Separate MIN and MAX each take one step down the ts index.
  const firstTs = (db.prepare('SELECT MIN(ts) FROM entries').pluck().get() as string | null) ?? null
  const lastTs = (db.prepare('SELECT MAX(ts) FROM entries').pluck().get() as string | null) ?? null
  // One pass: the newest ts per device (not its last inserted row: an import from years ago is inserted last), its
  // signing keys and its unverified entries.
  // A row verified against a chunk keeps its origin there (schema 13); a file from before chunks has no such row.
  const originOf = hasColumn(db, 'chunk') ? rowOriginSql() : 'origin'
  const devices = db.prepare(`SELECT device_id AS deviceId, COUNT(*) AS count, MAX(ts) AS lastTs,
                                     COUNT(DISTINCT NULLIF(${originOf}, '')) AS keys, COALESCE(SUM(trust = 0), 0) AS unverified
                              FROM entries GROUP BY device_id ORDER BY count DESC, device_id`).all() as HistoryStats['devices']
  const topCommands = db.prepare(`SELECT cmd, COUNT(*) AS count FROM entries GROUP BY cmd
                                  ORDER BY count DESC, cmd LIMIT ?`).all(top) as HistoryStats['topCommands']
  const topDirectories = db.prepare(`SELECT cwd, COUNT(*) AS count FROM entries WHERE cwd != '' GROUP BY cwd
                                     ORDER BY count DESC, cwd LIMIT ?`).all(top) as HistoryStats['topDirectories']
  return {
    ...totals,
    firstTs,
    lastTs,
    failureRate: totals.total === 0 ? 0 : totals.failed / totals.total,
    devices,
    topCommands,
    topDirectories
  }
}
