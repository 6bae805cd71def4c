/** Tombstone pages for the wire and tombstone ingest, in a worker thread (deleting entries is bulk SQLite work). */
import { tombstoneFields, validateTombstones } from '../src/core/tombstone.js'
import { decodeJson } from '../src/protocol/messages.js'
import { parseTombstoneBatch, parseTombstonePush } from '../src/protocol/tombstones.js'
import { applyTombstones, checkpointTruncate, ingestPulledTombstones } from '../src/store/tombstones.js'
import { workerDb } from './db-cache.js'
import type {
  ExportTombstonesResult, ExportTombstonesTask, IngestTombstonesPulledResult, IngestTombstonesPulledTask,
  IngestTombstonesPushResult, IngestTombstonesPushTask
} from './tasks.js'
import { secondMs } from '../src/core/units.js'

/** json_object drops nothing: a NULL peer_id is left out with json_patch below so the document stays minimal. */
const tombstoneJsonSql = `json_patch(json_object(${tombstoneFields.filter((f) => f !== 'peer_id').map((f) => `'${f}', ${f}`).join(', ')}), CASE WHEN peer_id IS NULL THEN '{}' ELSE json_object('peer_id', peer_id) END)`
const envelopeBytes = 64
/** How long a worker waits for readers before leaving the WAL truncate to the next delete. */
const checkpointWaitMs = 5 * secondMs

export function exportTombstones (task: ExportTombstonesTask): ExportTombstonesResult {
  const rows = workerDb(task.dbPath)
    .prepare(`SELECT ${tombstoneJsonSql}, seq FROM tombstones WHERE seq > ? ORDER BY seq LIMIT ?`)
    .raw().iterate(task.cursor, task.limit) as Iterable<[string, number]>
  const parts: string[] = []
  let bytes = envelopeBytes
  let lastSeq = 0
  for (const [json, seq] of rows) {
    const size = Buffer.byteLength(json) + 1
    if (bytes + size > task.maxBytes) break
    parts.push(json)
    bytes += size
    lastSeq = seq
  }
  const next = parts.length > 0 ? lastSeq : null
  const payload = task.asPush === true
    ? Buffer.from(`{"tombstones":[${parts.join(',')}]}`)
    : Buffer.from(`{"tombstones":[${parts.join(',')}],"next_cursor":${next === null ? 'null' : next}}`)
  return { payload, count: parts.length, lastSeq }
}

export function ingestTombstonesPulled (task: IngestTombstonesPulledTask): IngestTombstonesPulledResult {
  const batch = parseTombstoneBatch(decodeJson(task.payload, 'TombstoneBatch'))
  const { valid, rejected } = validateTombstones(batch.tombstones)
  if (batch.next_cursor == null) return { received: 0, added: 0, deleted: 0, rejected, nextCursor: null }
  const db = workerDb(task.dbPath)
  const result = ingestPulledTombstones(db, task.peerId, valid, batch.next_cursor)
  if (result.deleted > 0) checkpointTruncate(db, checkpointWaitMs)
  return { received: batch.tombstones.length, ...result, rejected, nextCursor: batch.next_cursor }
}

export function ingestTombstonesPush (task: IngestTombstonesPushTask): IngestTombstonesPushResult {
  let raw: unknown[]
  try {
    raw = parseTombstonePush(decodeJson(task.payload, 'TombstonePush')).tombstones
  } catch (err) {
    return { ok: false, added: 0, ignored: 0, deleted: 0, rejected: [], error: (err as Error).message }
  }
  const { valid, rejected } = validateTombstones(raw)
  const db = workerDb(task.dbPath)
  const result = applyTombstones(db, valid)
  if (result.deleted > 0) checkpointTruncate(db, checkpointWaitMs)
  return { ok: rejected.length === 0, added: result.added, ignored: valid.length - result.added, deleted: result.deleted, rejected }
}
