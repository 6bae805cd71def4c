/** Bulk ingest in a worker thread: JSON parsing, validation, signature checks and the insert transaction stay off the network loop. */
import { admitReceived, type Admitted, type WireVersion } from '../src/core/admit.js'
import { validateBatch, type Entry } from '../src/core/entry.js'
import { decodeJson, parseEntriesPush, parseSyncBatch } from '../src/protocol/messages.js'
import { ingestPulledBatch, insertEntries, insertEntriesNoTx } from '../src/store/entries.js'
import { recordImportBatch } from '../src/store/imports.js'
import { workerDb } from './db-cache.js'
import { verifyAll } from './verify-parallel.js'
import type { IngestEntriesResult, IngestEntriesTask, IngestPulledResult, IngestPulledTask, IngestPushResult, IngestPushTask } from './tasks.js'

/**
 * admitReceived with the batch's signatures checked first, on several threads (workers/verify-parallel.ts): the
 * same entries need a check as admitReceived would check itself (2.0.0, signed, not by the connection's own peer).
 */
async function admit (valid: Entry[], indexes: number[], wire: WireVersion, peerId?: string): Promise<Admitted> {
  const verdicts = wire === 2 ? await verifyAll(valid, (e) => e.sig != null && e.origin !== peerId) : []
  return admitReceived(valid, { wire, now: Date.now(), ...(peerId != null ? { authenticatedPeer: peerId } : {}), verify: (_e, i) => verdicts[i] === true }, indexes)
}

export async function ingestPulled (task: IngestPulledTask): Promise<IngestPulledResult> {
  const batch = parseSyncBatch(decodeJson(task.payload, 'SyncBatch'))
  if (task.parsed != null) {
    task.parsed.postMessage({ received: batch.entries.length, nextCursor: batch.next_cursor })
    task.parsed.close()
  }
  const { valid, indexes, rejected } = validateBatch(batch.entries)
  if (batch.next_cursor == null) return { received: 0, inserted: 0, ignored: 0, clamped: 0, rejected, nextCursor: null }
  const admitted = await admit(valid, indexes, task.wire, task.peerId)
  const result = ingestPulledBatch(workerDb(task.dbPath), task.peerId, admitted.entries, batch.next_cursor)
  return { received: batch.entries.length, ...result, clamped: admitted.clamped, rejected: [...rejected, ...admitted.rejected], nextCursor: batch.next_cursor }
}

export async function ingestPush (task: IngestPushTask): Promise<IngestPushResult> {
  let entries: unknown[]
  try {
    entries = parseEntriesPush(decodeJson(task.payload, 'EntriesPush')).entries
  } catch (err) {
    return { ok: false, inserted: 0, ignored: 0, rejected: [], error: (err as Error).message }
  }
  const { valid, indexes, rejected } = validateBatch(entries)
  const admitted = await admit(valid, indexes, task.wire ?? 1, task.peerId)
  const all = [...rejected, ...admitted.rejected]
  const result = insertEntries(workerDb(task.dbPath), admitted.entries, 'received')
  return { ok: all.length === 0, ...result, clamped: admitted.clamped, rejected: all }
}

export function ingestEntries (task: IngestEntriesTask): IngestEntriesResult {
  const db = workerDb(task.dbPath)
  if (task.batch == null) return insertEntries(db, task.entries)
  const batch = task.batch
  return db.transaction(() => recordImportBatch(db, batch, () => insertEntriesNoTx(db, task.entries))).immediate()
}
