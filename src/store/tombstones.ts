/**
 * Forgetting: tombstones, and deleting entries so their text is really gone.
 *
 * Applying a tombstone removes the entry from `entries` and from `command_latest` (whose row for that command is
 * recomputed from the entries that remain), with `secure_delete` on, so SQLite overwrites the freed cells and pages
 * with zeros instead of leaving them in the file. The WAL still holds older page images until a checkpoint, so a
 * deleting connection ends with `wal_checkpoint(TRUNCATE)`, retried while readers hold old snapshots. The schema's
 * BEFORE INSERT trigger (v9) refuses a tombstoned entry_id on every insert path.
 */
import type { Database } from 'better-sqlite3'
import { tombstoneFields, type StoredTombstone, type Tombstone } from '../core/tombstone.js'
import { secondMs } from '../core/units.js'

export interface ApplyResult {
  /** Tombstones new to this database. */
  added: number
  /** Entries removed from this database. */
  deleted: number
}

/**
 * Stores tombstones and deletes their entries inside the caller's transaction (its own when none is open).
 * Idempotent: a known tombstone is skipped (its entry is already gone).
 */
export function applyTombstonesNoTx (db: Database, tombstones: readonly Tombstone[]): ApplyResult {
  if (!db.inTransaction) return applyTombstones(db, tombstones)
  const insert = db.prepare(`INSERT INTO tombstones (${tombstoneFields.join(', ')}) VALUES (?, ?, ?, ?) ON CONFLICT(entry_id) DO NOTHING`)
  // Every copy goes: the row holding the entry_id and its rivals, stored under `<entry_id>/<origin>` (schema v7).
  const remove = db.prepare('DELETE FROM entries WHERE entry_id = ? OR rival_of = ? RETURNING entry_id, cmd')
  const latestOf = db.prepare('SELECT entry_id FROM command_latest WHERE cmd = ?').pluck()
  let added = 0
  let deleted = 0
  /** Commands whose command_latest row pointed at a deleted entry. */
  const stale = new Set<string>()
  for (const t of tombstones) {
    added += insert.run(t.entry_id, t.deleted_at, t.device_id, t.peer_id ?? null).changes
    const rows = remove.all(t.entry_id, t.entry_id) as Array<{ entry_id: string, cmd: string }>
    if (rows.length === 0) continue
    deleted++
    for (const row of rows) if (latestOf.get(row.cmd) === row.entry_id) stale.add(row.cmd)
  }
  if (stale.size > 0) recomputeLatest(db, [...stale])
  return { added, deleted }
}

/**
 * Drops the command_latest rows of these commands and rebuilds each from the entries that remain (most recent use
 * in UI order), in one pass over entries whatever the number of commands: there is no index on entries.cmd.
 */
function recomputeLatest (db: Database, cmds: string[]): void {
  const drop = db.prepare('DELETE FROM command_latest WHERE cmd = ?')
  for (const cmd of cmds) drop.run(cmd)
  db.prepare(`INSERT INTO command_latest (ts, device_id, entry_id, cmd)
      SELECT ts, device_id, entry_id, cmd FROM entries WHERE cmd IN (SELECT value FROM json_each(?))
      ORDER BY ts DESC, device_id DESC, entry_id DESC
      ON CONFLICT (cmd) DO UPDATE SET ts = excluded.ts, device_id = excluded.device_id, entry_id = excluded.entry_id
        WHERE (excluded.ts, excluded.device_id, excluded.entry_id) > (command_latest.ts, command_latest.device_id, command_latest.entry_id)`)
    .run(JSON.stringify(cmds))
}

/** Zeroes what deletes free, and keeps SQLite's temporary b-trees (the IN list above) in memory, not in a temp file. */
export function prepareForDeletes (db: Database): void {
  db.pragma('secure_delete = ON')
  db.pragma('temp_store = MEMORY')
}

/** applyTombstonesNoTx in its own write transaction, with secure_delete on. */
export function applyTombstones (db: Database, tombstones: readonly Tombstone[]): ApplyResult {
  prepareForDeletes(db)
  return db.transaction(() => applyTombstonesNoTx(db, tombstones)).immediate()
}

/**
 * Applies a pulled tombstone batch and advances the peer's tombstone cursor in the same transaction (a crash
 * leaves both or neither).
 */
export function ingestPulledTombstones (db: Database, peerId: string, tombstones: readonly Tombstone[], nextCursor: number): ApplyResult {
  prepareForDeletes(db)
  return db.transaction(() => {
    const result = applyTombstonesNoTx(db, tombstones)
    db.prepare(`INSERT INTO tombstone_peer_state (peer_id, last_cursor) VALUES (?, ?)
                ON CONFLICT(peer_id) DO UPDATE SET last_cursor = MAX(last_cursor, excluded.last_cursor)`).run(peerId, nextCursor)
    return result
  }).immediate()
}

/**
 * Moves every WAL frame into the database file and truncates the WAL to zero bytes, so page images from before a
 * delete are gone from -wal too. A reader on an old snapshot (another process mid-query) blocks the truncate: retry
 * until `timeoutMs`. Returns false when it could not finish; the next delete, or `rr doctor`, tries again.
 */
export function checkpointTruncate (db: Database, timeoutMs = 10 * secondMs): boolean {
  const deadline = Date.now() + timeoutMs
  const pause = new Int32Array(new SharedArrayBuffer(4))
  for (let wait = 5; ; wait = Math.min(wait * 2, 200)) {
    try {
      const [row] = db.pragma('wal_checkpoint(TRUNCATE)') as Array<{ busy: number, log: number, checkpointed: number }>
      if (row != null && row.busy === 0) return true
    } catch (err) {
      if (!/busy|locked/i.test((err as Error).message)) throw err
    }
    if (Date.now() >= deadline) return false
    Atomics.wait(pause, 0, 0, wait)
  }
}

export interface DeleteOrigin {
  /** This device's id. */
  deviceId: string
  /** This device's PeerId, when it has an identity key. */
  peerId?: string
  /** @default now */
  now?: Date
}

export interface DeleteResult extends ApplyResult {
  /** False when the WAL could not be truncated yet (a reader held it); the text may remain in -wal until then. */
  checkpointed: boolean
}

/** Deletes entries by id on this device: tombstones for every id (known here or not), then a checkpoint. */
export function deleteEntries (db: Database, entryIds: readonly string[], origin: DeleteOrigin): DeleteResult {
  const deletedAt = (origin.now ?? new Date()).toISOString()
  const tombstones = entryIds.map((id): Tombstone => ({
    entry_id: id.toLowerCase(),
    deleted_at: deletedAt,
    device_id: origin.deviceId,
    ...(origin.peerId != null ? { peer_id: origin.peerId } : {})
  }))
  let added = 0
  let deleted = 0
  // Chunks keep each write transaction short, so a record or a sync waits at most one chunk.
  for (let i = 0; i < tombstones.length; i += chunk) {
    const r = applyTombstones(db, tombstones.slice(i, i + chunk))
    added += r.added
    deleted += r.deleted
  }
  return { added, deleted, checkpointed: added + deleted === 0 || checkpointTruncate(db) }
}
const chunk = 5000

/** Tombstones with seq > cursor, ascending, at most limit (the serving side of tombstone-pull). */
export function tombstonesAfter (db: Database, cursor: number, limit: number): StoredTombstone[] {
  const rows = db.prepare(`SELECT seq, ${tombstoneFields.join(', ')} FROM tombstones WHERE seq > ? ORDER BY seq LIMIT ?`).all(cursor, limit) as Array<StoredTombstone & { peer_id: string | null }>
  return rows.map((r) => {
    const { peer_id: peerId, ...rest } = r
    return peerId != null ? { ...rest, peer_id: peerId } : rest
  })
}

export function isTombstoned (db: Database, entryId: string): boolean {
  return db.prepare('SELECT 1 FROM tombstones WHERE entry_id = ?').get(entryId.toLowerCase()) != null
}

export interface TombstoneCounts {
  /** Every tombstone this database holds. */
  total: number
  /** Made on this device. */
  own: number
  /** Received from peers. */
  received: number
}

export function countTombstones (db: Database, deviceId: string): TombstoneCounts {
  const row = db.prepare('SELECT COUNT(*) AS total, COALESCE(SUM(device_id = ?), 0) AS own FROM tombstones').get(deviceId) as { total: number, own: number }
  return { total: row.total, own: row.own, received: row.total - row.own }
}

export function getTombstonePullCursor (db: Database, peerId: string): number {
  const row = db.prepare('SELECT last_cursor FROM tombstone_peer_state WHERE peer_id = ?').get(peerId) as { last_cursor: number } | undefined
  return row?.last_cursor ?? 0
}

export function getTombstonePushCursor (db: Database, peerId: string): number {
  const row = db.prepare('SELECT last_pushed_seq FROM tombstone_push_state WHERE peer_id = ?').get(peerId) as { last_pushed_seq: number } | undefined
  return row?.last_pushed_seq ?? 0
}

export function setTombstonePushCursor (db: Database, peerId: string, seq: number): void {
  db.prepare(`INSERT INTO tombstone_push_state (peer_id, last_pushed_seq) VALUES (?, ?)
              ON CONFLICT(peer_id) DO UPDATE SET last_pushed_seq = MAX(last_pushed_seq, excluded.last_pushed_seq)`).run(peerId, seq)
}
