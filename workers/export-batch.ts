/** Serializes pages of entries for the wire in a worker thread, trimmed to the response cap. */
import type { Database } from 'better-sqlite3'
import { entryFields, optionalEntryFields } from '../src/core/entry.js'
import { signPending, wireIdSql } from '../src/store/entries.js'
import { workerDb } from './db-cache.js'
import type { ExportBatchResult, ExportBatchTask, ExportPushResult, ExportPushTask, SignPendingResult, SignPendingTask } from './tasks.js'

/**
 * Each row comes out of SQLite already as its JSON object (json_object, built in C): about a third of the CPU of
 * building it from the columns in JS (4–5 vs 16 µs per entry, measured), which on a small server is the whole cost
 * of serving a pull. Keys in entryFields order; integers stay numbers.
 */
/** Optional content fields (session_id) are added only when set: absent, not null, on old entries. */
function withOptional (json: string): string {
  return optionalEntryFields.reduce((acc, f) => `CASE WHEN ${f} IS NULL THEN ${acc} ELSE json_set(${acc}, '$.${f}', ${f}) END`, json)
}
/** A rival copy (schema v7) is served under its wire entry_id, never its storage id. */
const column = (f: string): string => f === 'entry_id' ? wireIdSql : f
const entryJsonSql = withOptional(`json_object(${entryFields.map((f) => `'${f}', ${column(f)}`).join(', ')})`)
/**
 * The 2.0.0 form: the stamp as the origin signed it (ts_orig when it was clamped here), then origin and sig when
 * the row is signed. A verified row is served with its signature, so every hop checks it again. A row signed by
 * the batch's `origin` (@batchOrigin) leaves its own out: the receiver applies the batch's (docs/PROTOCOL.md).
 */
const signedFieldsSql = entryFields.map((f) => `'${f}', ${f === 'ts' ? 'COALESCE(ts_orig, ts)' : column(f)}`).join(', ')
const entryJsonV2Sql = withOptional(`CASE WHEN origin = '' THEN json_object(${signedFieldsSql})
  WHEN origin = @batchOrigin THEN json_object(${signedFieldsSql}, 'sig', sig)
  ELSE json_object(${signedFieldsSql}, 'origin', origin, 'sig', sig) END`)

/**
 * The batch origin of a page: the signer of its first signed row (runs of one device's entries are the rule), read
 * within the page's rows only so that an unsigned table is never scanned past it. '' when the page has none.
 */
function pageOrigin (db: Database, cursor: number, limit: number): string {
  const row = db.prepare(`SELECT origin FROM (SELECT origin FROM entries WHERE ingest_seq > ? ORDER BY ingest_seq LIMIT ?)
      WHERE origin <> '' LIMIT 1`).get(cursor, limit) as { origin: string } | undefined
  return row?.origin ?? ''
}

/** The envelope's opening: the batch origin first (so next_cursor stays last, where tailCursor reads it). */
function opening (origin: string): string {
  return origin === '' ? '{"entries":[' : `{"origin":${JSON.stringify(origin)},"entries":[`
}
/** Room for the envelope around the entries. */
const envelopeBytes = 64

interface Page {
  parts: string[]
  bytes: number
  lastSeq: number
  tooLarge?: { entry_id: string, bytes: number }
}

/** Rows are [entry JSON, ingest_seq]; stops before the row that would pass maxBytes (iterate: nothing past it is read). */
function collect (rows: Iterable<[string, number]>, maxBytes: number): Page {
  const page: Page = { parts: [], bytes: envelopeBytes, lastSeq: 0 }
  for (const [json, seq] of rows) {
    // Counted exactly: a UTF-16 length undercounts non-ASCII text, and the undercount adds up over a page.
    const size = Buffer.byteLength(json) + 1
    if (page.bytes + size > maxBytes) {
      if (page.parts.length === 0) page.tooLarge = { entry_id: (JSON.parse(json) as { entry_id: string }).entry_id, bytes: Buffer.byteLength(json) }
      break
    }
    page.parts.push(json)
    page.bytes += size
    page.lastSeq = seq
  }
  return page
}

export function exportBatch (task: ExportBatchTask): ExportBatchResult {
  const db = workerDb(task.dbPath)
  if (task.signer != null) signPending(db, task.signer)
  const origin = task.wire === 2 ? pageOrigin(db, task.cursor, task.limit) : ''
  const rows = (task.wire === 2
    ? db.prepare(`SELECT ${entryJsonV2Sql}, ingest_seq FROM entries WHERE ingest_seq > @cursor ORDER BY ingest_seq LIMIT @limit`)
      .raw().iterate({ cursor: task.cursor, limit: task.limit, batchOrigin: origin })
    : db.prepare(`SELECT ${entryJsonSql}, ingest_seq FROM entries WHERE ingest_seq > ? ORDER BY ingest_seq LIMIT ?`)
      .raw().iterate(task.cursor, task.limit)) as Iterable<[string, number]>
  const page = collect(rows, task.maxBytes - origin.length - 16)
  const next = page.parts.length > 0 ? page.lastSeq : null
  const payload = Buffer.from(`${opening(origin)}${page.parts.join(',')}],"next_cursor":${next === null ? 'null' : next}}`)
  return { payload, count: page.parts.length, ...(page.tooLarge != null ? { tooLarge: page.tooLarge } : {}) }
}

/**
 * Always in the 2.0.0 form: a 1.0.0 server reads the spec's fields and ignores origin and sig. Only entries this
 * device vouches for go: signed by its key (the batch origin), or unsigned (from before signing); never one signed
 * by another key.
 */
export function exportPush (task: ExportPushTask): ExportPushResult {
  const db = workerDb(task.dbPath)
  if (task.signer != null) signPending(db, task.signer)
  const origin = task.signer?.origin ?? ''
  const rows = db
    .prepare(`SELECT ${entryJsonV2Sql}, ingest_seq FROM entries WHERE device_id = @deviceId AND ingest_seq > @afterSeq AND origin IN ('', @batchOrigin) ORDER BY ingest_seq LIMIT @limit`)
    .raw().iterate({ deviceId: task.deviceId, afterSeq: task.afterSeq, batchOrigin: origin, limit: task.limit }) as Iterable<[string, number]>
  const page = collect(rows, task.maxBytes - origin.length - 16)
  const payload = Buffer.from(`${opening(origin)}${page.parts.join(',')}]}`)
  return { payload, count: page.parts.length, lastSeq: page.lastSeq, ...(page.tooLarge != null ? { tooLarge: page.tooLarge } : {}) }
}

/** Signs every pending entry, one chunk per transaction (a chunk whose rows were all dropped as copies ends it early). */
export function signAhead (task: SignPendingTask): SignPendingResult {
  const db = workerDb(task.dbPath)
  let signed = 0
  for (let n = signPending(db, task.signer, task.chunkRows); n > 0; n = signPending(db, task.signer, task.chunkRows)) signed += n
  return { signed }
}
