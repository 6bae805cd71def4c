/**
 * What `rr delete --filter`, `rr delete --import` and `rr redact --secrets` would delete: entries chosen by the
 * search filters and an fzf-style query, by import batch, or by the current secrets filter. Read-only.
 */
import type { Database } from 'better-sqlite3'
import { skipReason } from '../core/filters.js'
import { UsageError } from '../core/errors.js'
import { compileQuery } from '../search/match.js'
import { wireIdSql } from '../store/entries.js'
import { filterClause, untimedAware, type FeedFilters } from '../store/search.js'

export interface Doomed {
  entry_id: string
  ts: string
  cmd: string
  /** Why it goes (redact: the secret kind). */
  reason?: string
}

/**
 * Every entry (every use, not only the latest of each command) matching the filters and the query, newest first.
 * An empty query matches every command, so `--filter ''` with no other filter selects the whole history: the
 * command asks before deleting anything.
 */
export function selectByFilter (db: Database, query: string, filters: FeedFilters): Doomed[] {
  const match = compileQuery(query)
  const where = filterClause(untimedAware(db, filters))
  const rows = db.prepare(`SELECT ${wireIdSql} AS entry_id, ts, cmd FROM entries ${where.sql} ORDER BY ts DESC, device_id DESC, entry_id DESC`)
    .raw().iterate(...where.params) as Iterable<[string, string, string]>
  const out: Doomed[] = []
  for (const [entryId, ts, cmd] of rows) {
    if (match(cmd)) out.push({ entry_id: entryId, ts, cmd })
  }
  return out
}

/** `rr delete --import ID` with an id no import here printed: a usage mistake (exit 2), the message lists real ones. */
export class UnknownBatchError extends UsageError {}

/**
 * The entries an import batch inserted. Ids of the batch no longer stored here (deleted since) are returned too,
 * with an empty cmd, so their tombstones still reach peers.
 */
export function selectByImport (db: Database, batchId: string): Doomed[] {
  const batch = db.prepare('SELECT batch_id FROM import_batches WHERE batch_id = ?').get(batchId)
  if (batch == null) {
    const known = db.prepare('SELECT batch_id FROM import_batches ORDER BY created_at DESC LIMIT 5').pluck().all() as string[]
    throw new UnknownBatchError(`no import batch ${batchId} in this database${known.length > 0 ? ` (recent: ${known.join(', ')})` : ''}; \`rr import\` prints the batch id`)
  }
  return db.prepare(`SELECT b.entry_id AS entry_id, COALESCE(e.ts, '') AS ts, COALESCE(e.cmd, '') AS cmd
      FROM import_batch_entries b LEFT JOIN entries e ON e.entry_id = b.entry_id
      WHERE b.batch_id = ? ORDER BY e.ts DESC`).all(batchId) as Doomed[]
}

/** Entries the current secrets filter would not have recorded, with the kind of secret as the reason. */
export function selectSecrets (db: Database): Doomed[] {
  const out: Doomed[] = []
  const rows = db.prepare(`SELECT ${wireIdSql} AS entry_id, ts, cmd FROM entries ORDER BY ts DESC, device_id DESC, entry_id DESC`).raw().iterate() as Iterable<[string, string, string]>
  for (const [entryId, ts, cmd] of rows) {
    const reason = skipReason(cmd, { secretsFilter: true })
    if (reason?.startsWith('secret_') === true) out.push({ entry_id: entryId, ts, cmd, reason })
  }
  return out
}

/** Every use of exactly this command (ctrl-d in ctrl+r deletes the highlighted command), newest first. */
export function selectExact (db: Database, cmd: string): Doomed[] {
  return db.prepare(`SELECT ${wireIdSql} AS entry_id, ts, cmd FROM entries WHERE cmd = ? ORDER BY ts DESC, device_id DESC, entry_id DESC`).all(cmd) as Doomed[]
}
