/** Bulk ingest in worker threads: JSON parsing, validation and the insert transaction stay off the network loop. */
import { validateBatch } from '../src/core/entry.js'
import { decodeJson, parseEntriesPush, parseSyncBatch } from '../src/protocol/messages.js'
import { ingestPulledRows, insertEntries, type EntryRow } from '../src/store/entries.js'
import { workerDb } from './db-cache.js'
import type { IngestEntriesResult, IngestEntriesTask, IngestPushResult, IngestPushTask, IngestResult, ParsePulledResult, ParsePulledTask, StorePulledTask } from './tasks.js'

/**
 * Sync's ingest is two stages so that two threads share it: parsePulled (UTF-8, JSON, every field validated) runs
 * for batch N+1 while storePulled (SQLite, the one writer) stores batch N. The stages hand over the valid entries as
 * one JSON string of value arrays: a string crosses threads as a copy, and parsing arrays costs the store stage
 * less than half of parsing the peer's objects (structured clone of the objects would cost more than both).
 */
export function parsePulled (task: ParsePulledTask): ParsePulledResult {
  const batch = parseSyncBatch(decodeJson(task.payload, 'SyncBatch'))
  const { valid, rejected } = validateBatch(batch.entries)
  if (batch.next_cursor == null) return { received: 0, rows: '[]', rejected, nextCursor: null }
  const rows = JSON.stringify(valid.map((e) => [e.entry_id, e.device_id, e.user_id, e.ts, e.cmd, e.cwd, e.exit_code, e.duration_ms, e.shell, e.hostname, e.version]))
  return { received: batch.entries.length, rows, rejected, nextCursor: batch.next_cursor }
}

/** Stores what parsePulled kept and advances peer_state to nextCursor, in one transaction. */
export function storePulled (task: StorePulledTask): IngestResult {
  return ingestPulledRows(workerDb(task.dbPath), task.peerId, JSON.parse(task.rows) as EntryRow[], task.nextCursor)
}

export function ingestPush (task: IngestPushTask): IngestPushResult {
  let entries: unknown[]
  try {
    entries = parseEntriesPush(decodeJson(task.payload, 'EntriesPush')).entries
  } catch (err) {
    return { ok: false, inserted: 0, ignored: 0, rejected: [], error: (err as Error).message }
  }
  const { valid, rejected } = validateBatch(entries)
  const result = insertEntries(workerDb(task.dbPath), valid)
  return { ok: rejected.length === 0, ...result, rejected }
}

export function ingestEntries (task: IngestEntriesTask): IngestEntriesResult {
  return insertEntries(workerDb(task.dbPath), task.entries)
}
