/**
 * Everything the database knows about each peer, in one row per peer: the union of sync_status, peer_state,
 * peer_push_state and peer_book (for `rr sync-status` and `rr doctor`). Read-only.
 */
import type { Database } from 'better-sqlite3'
import type { SyncStatusRow } from './peers.js'

export interface PeerOverviewRow extends SyncStatusRow {
  device_id: string | null
  hostname: string | null
  last_seen_unix: number | null
  /** Our pull cursor into this peer (peer_state.last_cursor). */
  last_cursor: number | null
  /** Our own ingest_seq pushed up to (peer_push_state.last_pushed_seq). */
  last_pushed_seq: number | null
  /** Entries (or tombstones) this peer sent that were refused, in total (sync_refusals, schema v6). */
  refused_total: number | null
  last_refused_count: number | null
  last_refused_reason: string | null
  last_refused_unix: number | null
}

function hasTable (db: Database, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) != null
}

/** One row per known peer, ordered by PeerId. Tolerates a database that predates sync_status. */
export function readPeerOverview (db: Database): PeerOverviewRow[] {
  const status = hasTable(db, 'sync_status')
  const refusals = hasTable(db, 'sync_refusals')
  const ids = `SELECT peer_id FROM peer_state UNION SELECT peer_id FROM peer_push_state UNION SELECT peer_id FROM peer_book${status ? ' UNION SELECT peer_id FROM sync_status' : ''}${refusals ? ' UNION SELECT peer_id FROM sync_refusals' : ''}`
  const refusalCols = refusals
    ? 'r.refused_total, r.last_refused_count, r.last_refused_reason, r.last_refused_unix'
    : 'NULL AS refused_total, NULL AS last_refused_count, NULL AS last_refused_reason, NULL AS last_refused_unix'
  const statusCols = status
    ? 's.last_pull_unix, s.last_pull_count, s.last_push_unix, s.last_push_count, s.last_error, s.last_error_unix, s.last_path, s.last_addr'
    : 'NULL AS last_pull_unix, NULL AS last_pull_count, NULL AS last_push_unix, NULL AS last_push_count, NULL AS last_error, NULL AS last_error_unix, NULL AS last_path, NULL AS last_addr'
  return db.prepare(`
    SELECT ids.peer_id AS peer_id, b.device_id, b.hostname, b.last_seen_unix, ps.last_cursor, pp.last_pushed_seq, ${statusCols}, ${refusalCols}
    FROM (${ids}) AS ids
    LEFT JOIN peer_book b ON b.peer_id = ids.peer_id
    LEFT JOIN peer_state ps ON ps.peer_id = ids.peer_id
    LEFT JOIN peer_push_state pp ON pp.peer_id = ids.peer_id
    ${status ? 'LEFT JOIN sync_status s ON s.peer_id = ids.peer_id' : ''}
    ${refusals ? 'LEFT JOIN sync_refusals r ON r.peer_id = ids.peer_id' : ''}
    ORDER BY ids.peer_id`).all() as PeerOverviewRow[]
}
