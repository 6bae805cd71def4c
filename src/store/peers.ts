/** Per-peer sync state: pull cursors, push cursors, the tracker peer book, sync status, counters. */
import type { Database } from 'better-sqlite3'

export function getPullCursor (db: Database, peerId: string): number {
  const row = db.prepare('SELECT last_cursor FROM peer_state WHERE peer_id = ?').get(peerId) as { last_cursor: number } | undefined
  return row?.last_cursor ?? 0
}

/**
 * Moves a cursor stored under an old key (a multiaddr, from manual --peers syncs of older versions) to the
 * PeerId, once. Keeps the larger cursor if both exist. Returns true when something moved.
 */
export function migratePullCursorKey (db: Database, oldKeys: readonly string[], peerId: string): boolean {
  return db.transaction(() => {
    let moved = false
    for (const key of oldKeys) {
      if (key === peerId) continue
      const row = db.prepare('SELECT last_cursor FROM peer_state WHERE peer_id = ?').get(key) as { last_cursor: number } | undefined
      if (row == null) continue
      db.prepare(`INSERT INTO peer_state (peer_id, last_cursor) VALUES (?, ?)
                  ON CONFLICT(peer_id) DO UPDATE SET last_cursor = MAX(last_cursor, excluded.last_cursor)`).run(peerId, row.last_cursor)
      db.prepare('DELETE FROM peer_state WHERE peer_id = ?').run(key)
      moved = true
    }
    return moved
  }).immediate()
}

export function getPushCursor (db: Database, peerId: string): number {
  const row = db.prepare('SELECT last_pushed_seq FROM peer_push_state WHERE peer_id = ?').get(peerId) as { last_pushed_seq: number } | undefined
  return row?.last_pushed_seq ?? 0
}

export function setPushCursor (db: Database, peerId: string, seq: number): void {
  db.prepare(`INSERT INTO peer_push_state (peer_id, last_pushed_seq) VALUES (?, ?)
              ON CONFLICT(peer_id) DO UPDATE SET last_pushed_seq = MAX(last_pushed_seq, excluded.last_pushed_seq)`).run(peerId, seq)
}

export interface PeerBookEntry {
  peer_id: string
  addrs: string[]
  user_id: string | null
  device_id: string | null
  hostname: string | null
  last_seen_unix: number
}

export function upsertPeerBook (db: Database, peers: readonly PeerBookEntry[]): void {
  const stmt = db.prepare(`INSERT INTO peer_book (peer_id, addrs, user_id, device_id, hostname, last_seen_unix)
    VALUES (@peer_id, @addrs, @user_id, @device_id, @hostname, @last_seen_unix)
    ON CONFLICT(peer_id) DO UPDATE SET addrs = excluded.addrs, user_id = excluded.user_id, device_id = excluded.device_id,
      hostname = excluded.hostname, last_seen_unix = MAX(last_seen_unix, excluded.last_seen_unix)`)
  db.transaction(() => {
    for (const p of peers) stmt.run({ ...p, addrs: JSON.stringify(p.addrs) })
  }).immediate()
}

/** Peers seen since `sinceUnix`, optionally only one user's; newest first. */
export function recentPeers (db: Database, sinceUnix: number, userId?: string): PeerBookEntry[] {
  const rows = (userId != null
    ? db.prepare('SELECT * FROM peer_book WHERE last_seen_unix >= ? AND user_id = ? ORDER BY last_seen_unix DESC').all(sinceUnix, userId)
    : db.prepare('SELECT * FROM peer_book WHERE last_seen_unix >= ? ORDER BY last_seen_unix DESC').all(sinceUnix)) as Array<Omit<PeerBookEntry, 'addrs'> & { addrs: string }>
  return rows.map((r) => ({ ...r, addrs: JSON.parse(r.addrs) as string[] }))
}

export function prunePeerBook (db: Database, olderThanUnix: number): number {
  return db.prepare('DELETE FROM peer_book WHERE last_seen_unix < ?').run(olderThanUnix).changes
}

export function incrementCounter (db: Database, name: string, by = 1): void {
  db.prepare('INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = value + excluded.value').run(name, by)
}

export function readCounters (db: Database): Record<string, number> {
  const rows = db.prepare('SELECT name, value FROM counters ORDER BY name').all() as Array<{ name: string, value: number }>
  return Object.fromEntries(rows.map((r) => [r.name, r.value]))
}

export interface SyncStatusRow {
  peer_id: string
  last_pull_unix: number | null
  last_pull_count: number | null
  last_push_unix: number | null
  last_push_count: number | null
  last_error: string | null
  last_error_unix: number | null
  last_path: string | null
  last_addr: string | null
}

export type SyncStatusUpdate = Partial<Omit<SyncStatusRow, 'peer_id'>>

/** Records what the last sync with a peer did (only the given fields change). */
export function updateSyncStatus (db: Database, peerId: string, update: SyncStatusUpdate): void {
  const keys = Object.keys(update) as Array<keyof SyncStatusUpdate>
  db.prepare('INSERT OR IGNORE INTO sync_status (peer_id) VALUES (?)').run(peerId)
  if (keys.length === 0) return
  db.prepare(`UPDATE sync_status SET ${keys.map((k) => `${k} = @${k}`).join(', ')} WHERE peer_id = @peer_id`)
    .run({ ...update, peer_id: peerId })
}

export function readSyncStatus (db: Database): SyncStatusRow[] {
  return db.prepare('SELECT * FROM sync_status ORDER BY peer_id').all() as SyncStatusRow[]
}

/**
 * Counts entries (or tombstones) a peer sent that were refused (invalid, over a cap), so no refusal is silent:
 * `rr sync-status` and `rr doctor` show the total and the last reason.
 */
export function noteRefused (db: Database, peerId: string, count: number, reason: string, unix: number): void {
  db.prepare(`INSERT INTO sync_refusals (peer_id, refused_total, last_refused_count, last_refused_reason, last_refused_unix)
              VALUES (@peer_id, @count, @count, @reason, @unix)
              ON CONFLICT(peer_id) DO UPDATE SET refused_total = refused_total + excluded.refused_total,
                last_refused_count = excluded.last_refused_count, last_refused_reason = excluded.last_refused_reason,
                last_refused_unix = excluded.last_refused_unix`).run({ peer_id: peerId, count, reason: reason.slice(0, 500), unix })
}

export interface RefusalRow {
  peer_id: string
  refused_total: number
  last_refused_count: number | null
  last_refused_reason: string | null
  last_refused_unix: number | null
}

/** Refusal counts per peer (none on a database older than schema v6). */
export function readRefusals (db: Database): RefusalRow[] {
  if (db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sync_refusals'").get() == null) return []
  return db.prepare('SELECT * FROM sync_refusals ORDER BY peer_id').all() as RefusalRow[]
}
