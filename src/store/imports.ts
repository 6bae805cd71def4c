/** Import batches: which entries an import inserted (so `rr delete --import` can undo it), and which were untimed. */
import type { Database } from 'better-sqlite3'
import { maxIngestSeq, type InsertResult } from './entries.js'

export interface ImportBatchRow {
  id: string
  shell: string
  path: string
  createdAt: string
  /** entry_ids that had no timestamp in the file. */
  untimed: readonly string[]
}

/**
 * Runs `insert` (inside the caller's transaction) and lists the rows it inserted under the batch. Entries that were
 * already stored are not part of the batch: undoing it must not delete what an earlier import or a peer brought.
 */
export function recordImportBatch (db: Database, batch: ImportBatchRow, insert: () => InsertResult): InsertResult {
  const before = maxIngestSeq(db)
  const result = insert()
  db.prepare('INSERT INTO import_batches (batch_id, created_at, shell, path, inserted) VALUES (?, ?, ?, ?, 0) ON CONFLICT(batch_id) DO NOTHING')
    .run(batch.id, batch.createdAt, batch.shell, batch.path)
  if (result.inserted > 0) {
    db.prepare(`INSERT OR IGNORE INTO import_batch_entries (batch_id, entry_id, untimed)
        SELECT ?, entry_id, entry_id IN (SELECT value FROM json_each(?)) FROM entries WHERE ingest_seq > ?`)
      .run(batch.id, JSON.stringify(batch.untimed), before)
    db.prepare('UPDATE import_batches SET inserted = inserted + ? WHERE batch_id = ?').run(result.inserted, batch.id)
  }
  return result
}
