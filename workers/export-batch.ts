/** Serializes pages of entries for the wire in a worker thread, trimmed to the response cap. */
import type { Database, Statement } from 'better-sqlite3'
import { entryFields, optionalEntryFields } from '../src/core/entry.js'
import { rowOriginSql, signPending, wireIdSql } from '../src/store/entries.js'
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
const entryJsonV2Sql = withOptional(`CASE WHEN origin = '' OR sig IS NULL THEN json_object(${signedFieldsSql})
  WHEN origin = @batchOrigin THEN json_object(${signedFieldsSql}, 'sig', sig)
  ELSE json_object(${signedFieldsSql}, 'origin', origin, 'sig', sig) END`)

/**
 * The 3.0.0 form: a row linked to a chunk manifest goes without origin and sig, with `k`, the id of its chunk (the
 * answer's `chunks` carries it, collect sees to that); a row signed alone (before chunks) with origin and sig as on
 * 2.0.0; an unsigned one plain. A row verified here only against a chunk has no sig: served to a 2.0.0 peer, it goes
 * unsigned (the 2.0.0 form above), and that peer stores it unverified (docs/PROTOCOL.md, "Older peers").
 */
const entryJsonV3Sql = withOptional(`CASE WHEN chunk IS NOT NULL THEN json_object(${signedFieldsSql}, 'k', chunk)
  WHEN origin = '' OR sig IS NULL THEN json_object(${signedFieldsSql})
  ELSE json_object(${signedFieldsSql}, 'origin', origin, 'sig', sig) END`)

/**
 * The batch origin of a page: the signer of its first signed row (runs of one device's entries are the rule), read
 * within the page's rows only so that an unsigned table is never scanned past it. '' when the page has none.
 */
function pageOrigin (db: Database, cursor: number, limit: number): string {
  const row = db.prepare(`SELECT origin FROM (SELECT origin, sig FROM entries WHERE ingest_seq > ? ORDER BY ingest_seq LIMIT ?)
      WHERE origin <> '' AND sig IS NOT NULL LIMIT 1`).get(cursor, limit) as { origin: string } | undefined
  return row?.origin ?? ''
}

/** The envelope's opening: the batch origin and chunks first (so next_cursor stays last, where tailCursor reads it). */
function opening (origin: string, chunks = ''): string {
  return origin === '' ? `{${chunks}"entries":[` : `{"origin":${JSON.stringify(origin)},${chunks}"entries":[`
}
/** Room for the envelope around the entries. */
const envelopeBytes = 64

interface Page {
  parts: string[]
  bytes: number
  lastSeq: number
  /** 3.0.0: the chunks the page's rows name, encoded, each once. */
  chunks: string[]
  tooLarge?: { entry_id: string, bytes: number }
}

const chunkStatements = new WeakMap<Database, Statement>()

/** A chunk row as the 3.0.0 `chunks` array carries it. */
function chunkJson (db: Database, id: number): string {
  let stmt = chunkStatements.get(db)
  if (stmt == null) chunkStatements.set(db, stmt = db.prepare('SELECT origin, sig, hashes FROM chunks WHERE id = ?'))
  const c = stmt.get(id) as { origin: string, sig: Buffer, hashes: Buffer }
  return `{"id":${id},"origin":${JSON.stringify(c.origin)},"sig":"${c.sig.toString('base64')}","hashes":"${c.hashes.toString('base64')}"}`
}

/**
 * Rows are [entry JSON, ingest_seq, chunk id or null]; stops before the row that would pass maxBytes (iterate:
 * nothing past it is read). On 3.0.0 (`db` given) the first row naming a chunk brings it into the page (counted in
 * its bytes): each chunk once per answer.
 */
function collect (rows: Iterable<[string, number, number | null]>, maxBytes: number, db?: Database): Page {
  const page: Page = { parts: [], bytes: envelopeBytes, lastSeq: 0, chunks: [] }
  const sent = new Set<number>()
  for (const [json, seq, chunk] of rows) {
    const chunkPart = db != null && chunk != null && !sent.has(chunk) ? chunkJson(db, chunk) : undefined
    // Counted exactly: a UTF-16 length undercounts non-ASCII text, and the undercount adds up over a page.
    const size = Buffer.byteLength(json) + 1 + (chunkPart != null ? chunkPart.length + 1 : 0)
    if (page.bytes + size > maxBytes) {
      if (page.parts.length === 0) page.tooLarge = { entry_id: (JSON.parse(json) as { entry_id: string }).entry_id, bytes: size }
      break
    }
    if (chunkPart != null) {
      sent.add(chunk!)
      page.chunks.push(chunkPart)
    }
    page.parts.push(json)
    page.bytes += size
    page.lastSeq = seq
  }
  return page
}

/** The 3.0.0 answer's `chunks`, first: next_cursor stays last. */
function chunksPart (page: Page): string {
  return page.chunks.length > 0 ? `"chunks":[${page.chunks.join(',')}],` : ''
}

function pageRows (db: Database, task: ExportBatchTask, origin: string): Iterable<[string, number, number | null]> {
  if (task.wire === 3) {
    return db.prepare(`SELECT ${entryJsonV3Sql}, ingest_seq, chunk FROM entries WHERE ingest_seq > @cursor ORDER BY ingest_seq LIMIT @limit`)
      .raw().iterate({ cursor: task.cursor, limit: task.limit }) as Iterable<[string, number, number | null]>
  }
  if (task.wire === 2) {
    return db.prepare(`SELECT ${entryJsonV2Sql}, ingest_seq, NULL FROM entries WHERE ingest_seq > @cursor ORDER BY ingest_seq LIMIT @limit`)
      .raw().iterate({ cursor: task.cursor, limit: task.limit, batchOrigin: origin }) as Iterable<[string, number, number | null]>
  }
  return db.prepare(`SELECT ${entryJsonSql}, ingest_seq, NULL FROM entries WHERE ingest_seq > ? ORDER BY ingest_seq LIMIT ?`)
    .raw().iterate(task.cursor, task.limit) as Iterable<[string, number, number | null]>
}

export function exportBatch (task: ExportBatchTask): ExportBatchResult {
  const db = workerDb(task.dbPath)
  if (task.signer != null) signPending(db, task.signer)
  // 3.0.0 has no batch origin of its own making: rows signed alone carry theirs (they are the few from before chunks).
  const origin = task.wire === 2 ? pageOrigin(db, task.cursor, task.limit) : ''
  const page = collect(pageRows(db, task, origin), task.maxBytes - origin.length - 16, task.wire === 3 ? db : undefined)
  const next = page.parts.length > 0 ? page.lastSeq : null
  const payload = Buffer.from(`${opening(origin, chunksPart(page))}${page.parts.join(',')}],"next_cursor":${next === null ? 'null' : next}}`)
  return { payload, count: page.parts.length, ...(page.tooLarge != null ? { tooLarge: page.tooLarge } : {}) }
}

/**
 * In the 3.0.0 form when the connection runs 3.0.0 (`wire`), else the 2.0.0 form: a 1.0.0 server reads the spec's
 * fields and ignores origin and sig. Only entries this device vouches for go: signed by its key (the batch origin,
 * or a chunk of its own), or unsigned (from before signing); never one signed by another key.
 */
export function exportPush (task: ExportPushTask): ExportPushResult {
  const db = workerDb(task.dbPath)
  if (task.signer != null) signPending(db, task.signer)
  const origin = task.signer?.origin ?? ''
  const v3 = task.wire === 3
  const rows = db
    .prepare(`SELECT ${v3 ? entryJsonV3Sql : entryJsonV2Sql}, ingest_seq, ${v3 ? 'chunk' : 'NULL'} FROM entries WHERE device_id = @deviceId AND ingest_seq > @afterSeq AND ${rowOriginSql()} IN ('', @batchOrigin) ORDER BY ingest_seq LIMIT @limit`)
    .raw().iterate({ deviceId: task.deviceId, afterSeq: task.afterSeq, limit: task.limit, batchOrigin: origin }) as Iterable<[string, number, number | null]>
  const batchOrigin = v3 ? '' : origin
  const page = collect(rows, task.maxBytes - batchOrigin.length - 16, v3 ? db : undefined)
  const payload = Buffer.from(`${opening(batchOrigin, chunksPart(page))}${page.parts.join(',')}]}`)
  return { payload, count: page.parts.length, lastSeq: page.lastSeq, ...(page.tooLarge != null ? { tooLarge: page.tooLarge } : {}) }
}

/** Signs every pending entry, one chunk per transaction (a chunk whose rows were all dropped as copies ends it early). */
export function signAhead (task: SignPendingTask): SignPendingResult {
  const db = workerDb(task.dbPath)
  let signed = 0
  for (let n = signPending(db, task.signer, task.chunkRows); n > 0; n = signPending(db, task.signer, task.chunkRows)) signed += n
  return { signed }
}
