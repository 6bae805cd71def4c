/** The append-only entries table: batch ingest with dedup, cursor pages, own-device pages. */
import type { Database } from 'better-sqlite3'
import { entryFields, type Entry, type StoredEntry } from '../core/entry.js'

export interface InsertResult {
  inserted: number
  ignored: number
}

const columns = entryFields.join(', ')
const placeholders = entryFields.map(() => '?').join(', ')

/**
 * Dedup on entry_id only: `ON CONFLICT(entry_id) DO NOTHING` is INSERT OR IGNORE narrowed to the unique index, so a
 * NULL in a NOT NULL column is an error instead of a silently dropped row counted as "ignored".
 */
function insertStatement (db: Database) {
  return db.prepare(`INSERT INTO entries (${columns}) VALUES (${placeholders}) ON CONFLICT(entry_id) DO NOTHING`)
}

/** Inserts entries in the current transaction (or autocommit); known entry_ids are ignored. */
export function insertEntriesNoTx (db: Database, entries: readonly Entry[]): InsertResult {
  const stmt = insertStatement(db)
  let inserted = 0
  // Positional parameters bind about a fifth faster than named ones from an object (measured on bulk ingest).
  for (const e of entries) {
    inserted += stmt.run(e.entry_id, e.device_id, e.user_id, e.ts, e.cmd, e.cwd, e.exit_code, e.duration_ms, e.shell, e.hostname, e.version).changes
  }
  return { inserted, ignored: entries.length - inserted }
}

/** Inserts a batch as one transaction and reports inserted vs ignored (already present). */
export function insertEntries (db: Database, entries: readonly Entry[]): InsertResult {
  return db.transaction(() => insertEntriesNoTx(db, entries)).immediate()
}

/**
 * Inserts a pulled batch and advances the peer's cursor in the same transaction: a crash at any instant
 * leaves either both or neither, so no entry is skipped and none is applied twice.
 */
export function ingestPulledBatch (db: Database, peerId: string, entries: readonly Entry[], nextCursor: number): InsertResult {
  return db.transaction(() => {
    const result = insertEntriesNoTx(db, entries)
    db.prepare(`INSERT INTO peer_state (peer_id, last_cursor) VALUES (?, ?)
                ON CONFLICT(peer_id) DO UPDATE SET last_cursor = MAX(last_cursor, excluded.last_cursor)`).run(peerId, nextCursor)
    return result
  }).immediate()
}

/** Entries with ingest_seq > cursor, ascending, at most limit (the serving side of SyncPull). */
export function entriesAfter (db: Database, cursor: number, limit: number): StoredEntry[] {
  return db.prepare(`SELECT ingest_seq, ${columns} FROM entries WHERE ingest_seq > ? ORDER BY ingest_seq LIMIT ?`)
    .all(cursor, limit) as StoredEntry[]
}

/** This device's own entries after a local seq (the push side). */
export function ownEntriesAfter (db: Database, deviceId: string, seq: number, limit: number): StoredEntry[] {
  return db.prepare(`SELECT ingest_seq, ${columns} FROM entries WHERE device_id = ? AND ingest_seq > ? ORDER BY ingest_seq LIMIT ?`)
    .all(deviceId, seq, limit) as StoredEntry[]
}

export function countEntries (db: Database): number {
  return (db.prepare('SELECT COUNT(*) AS n FROM entries').get() as { n: number }).n
}

export function maxIngestSeq (db: Database): number {
  return (db.prepare('SELECT COALESCE(MAX(ingest_seq), 0) AS n FROM entries').get() as { n: number }).n
}

export function stripSeq (row: StoredEntry): Entry {
  const { ingest_seq: _seq, ...entry } = row
  return entry
}
