/** Serializes pages of entries for the wire in a worker thread, trimmed to the response cap. */
import type { Database, Statement } from 'better-sqlite3'
import { hashBytes } from '../src/core/chunk.js'
import { entryFields, optionalEntryFields } from '../src/core/entry.js'
import { placeChunkRows, rowOriginSql, signPending, wireIdSql } from '../src/store/entries.js'
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
 * The 4.0.0 form: as 3.0.0, but a row linked to a chunk whose place in the manifest is known (chunk_pos) goes without
 * `k` too: a run of its chunk names it (collect), and its hash is left out of the chunk's `hashes`. Not a row this
 * device signed (its origin is @own): those go by `k` under their whole manifest, as on 3.0.0. Their receiver has
 * them first-hand and need not hash them to check them; it places them in the background, off the sync
 * (placeChunkRows), where a run would have made it hash every one inside the pull (a direct pull's cost on 4.0.0
 * was 15-20 % over unsigned in process, in the bench's two runs, against 12 % on 3.0.0).
 */
const placedSql = 'chunk IS NOT NULL AND chunk_pos IS NOT NULL AND origin <> @own'
const entryJsonV4Sql = withOptional(`CASE WHEN ${placedSql} THEN json_object(${signedFieldsSql})
  WHEN chunk IS NOT NULL THEN json_object(${signedFieldsSql}, 'k', chunk)
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
  /** 3.0.0 and 4.0.0: the chunks the page's rows name, each once, in the order first named. */
  chunks: Map<number, PageChunk>
  tooLarge?: { entry_id: string, bytes: number }
}

/** A chunk a page's rows name, as stored, and (4.0.0) the runs of the page's rows at places of it. */
interface PageChunk {
  origin: string
  sig: Buffer
  hashes: Buffer
  runs: Array<[entry: number, place: number, count: number]>
  /** By place in the manifest: 1 where a run covers it. */
  covered?: Uint8Array
}

const chunkStatements = new WeakMap<Database, Statement>()

function storedChunk (db: Database, id: number): PageChunk {
  let stmt = chunkStatements.get(db)
  if (stmt == null) chunkStatements.set(db, stmt = db.prepare('SELECT origin, sig, hashes FROM chunks WHERE id = ?'))
  const c = stmt.get(id) as { origin: string, sig: Buffer, hashes: Buffer }
  return { origin: c.origin, sig: c.sig, hashes: c.hashes, runs: [] }
}

/**
 * A chunk as the `chunks` array carries it: whole (3.0.0, or 4.0.0 with no run), or with its runs and the hashes of
 * the places they do not cover (4.0.0; never longer than whole: a run costs less than the hash it leaves out).
 */
function chunkJson (id: number, c: PageChunk): string {
  const head = `{"id":${id},"origin":${JSON.stringify(c.origin)},"sig":"${c.sig.toString('base64')}"`
  if (c.runs.length === 0) return `${head},"hashes":"${c.hashes.toString('base64')}"}`
  const n = c.hashes.length / hashBytes
  const rest = Buffer.allocUnsafe((n - c.runs.reduce((sum, r) => sum + r[2], 0)) * hashBytes)
  let at = 0
  for (let place = 0; place < n; place++) {
    if (c.covered![place] !== 1) at += c.hashes.copy(rest, at, place * hashBytes, (place + 1) * hashBytes)
  }
  return `${head},"n":${n},"runs":${JSON.stringify(c.runs)},"hashes":"${rest.toString('base64')}"}`
}

/** A row of a page: its entry JSON, ingest_seq, and its chunk id and place in it (either may be null). */
type Row = [json: string, seq: number, chunk: number | null, place: number | null]

/**
 * Stops before the row that would pass maxBytes (iterate: nothing past it is read). On 3.0.0 and 4.0.0 (`wire`) the
 * first row naming a chunk brings it into the page, counted whole in its bytes: each chunk once per answer. On 4.0.0
 * a row with a place in its chunk (the query left its `k` out) joins a run of that chunk instead; one whose place
 * is -1 (its hash is not in the manifest: placeChunkRows) or past the manifest's end, or taken by an earlier row of the
 * page, gets its `k` after all.
 */
function collect (rows: Iterable<Row>, maxBytes: number, db?: Database, wire = 3): Page {
  const page: Page = { parts: [], bytes: envelopeBytes, lastSeq: 0, chunks: new Map() }
  for (let [json, seq, id, place] of rows) {
    let chunk = db != null && id != null ? page.chunks.get(id) : undefined
    const added = db != null && id != null && chunk == null ? (chunk = storedChunk(db, id)) : undefined
    const addedBytes = added != null ? chunkJson(id!, added).length + 1 : 0
    let run: [number, number, number] | undefined
    if (chunk != null && place != null && wire >= 4) {
      const n = chunk.hashes.length / hashBytes
      chunk.covered ??= new Uint8Array(n)
      if (place >= 0 && place < n && chunk.covered[place] !== 1) {
        const last = chunk.runs[chunk.runs.length - 1]
        run = last != null && last[0] + last[2] === page.parts.length && last[1] + last[2] === place ? last : [page.parts.length, place, 0]
      } else {
        json = `${json.slice(0, -1)},"k":${id!}}`
      }
    }
    // Counted exactly: a UTF-16 length undercounts non-ASCII text, and the undercount adds up over a page.
    const size = Buffer.byteLength(json) + 1 + addedBytes
    if (page.bytes + size > maxBytes) {
      if (page.parts.length === 0) page.tooLarge = { entry_id: (JSON.parse(json) as { entry_id: string }).entry_id, bytes: size }
      break
    }
    if (added != null) page.chunks.set(id!, added)
    if (run != null) {
      if (run[2] === 0) chunk!.runs.push(run)
      run[2]++
      chunk!.covered![place!] = 1
    }
    page.parts.push(json)
    page.bytes += size
    page.lastSeq = seq
  }
  return page
}

/** The answer's `chunks` (3.0.0 and 4.0.0), first: next_cursor stays last. */
function chunksPart (page: Page): string {
  if (page.chunks.size === 0) return ''
  return `"chunks":[${[...page.chunks].map(([id, c]) => chunkJson(id, c)).join(',')}],`
}

/** The entry JSON of a wire version from 3.0.0 on, with the columns collect reads beside it. */
const chunkedJsonSql = (wire: number): string => wire >= 4 ? `${entryJsonV4Sql}, ingest_seq, chunk, CASE WHEN ${placedSql} THEN chunk_pos END` : `${entryJsonV3Sql}, ingest_seq, chunk, NULL`
/** The parameters of chunkedJsonSql beside a query's own: @own, this device's PeerId ('-', matching no row, without one). */
const chunkedParams = (wire: number, signer: { origin: string } | undefined): Record<string, string> => wire >= 4 ? { own: signer?.origin ?? '-' } : {}

function pageRows (db: Database, task: ExportBatchTask, origin: string): Iterable<Row> {
  const wire = task.wire ?? 1
  if (wire >= 3) {
    return db.prepare(`SELECT ${chunkedJsonSql(wire)} FROM entries WHERE ingest_seq > @cursor ORDER BY ingest_seq LIMIT @limit`)
      .raw().iterate({ cursor: task.cursor, limit: task.limit, ...chunkedParams(wire, task.signer) }) as Iterable<Row>
  }
  if (task.wire === 2) {
    return db.prepare(`SELECT ${entryJsonV2Sql}, ingest_seq, NULL, NULL FROM entries WHERE ingest_seq > @cursor ORDER BY ingest_seq LIMIT @limit`)
      .raw().iterate({ cursor: task.cursor, limit: task.limit, batchOrigin: origin }) as Iterable<Row>
  }
  return db.prepare(`SELECT ${entryJsonSql}, ingest_seq, NULL, NULL FROM entries WHERE ingest_seq > ? ORDER BY ingest_seq LIMIT ?`)
    .raw().iterate(task.cursor, task.limit) as Iterable<Row>
}

export function exportBatch (task: ExportBatchTask): ExportBatchResult {
  const db = workerDb(task.dbPath)
  if (task.signer != null) signPending(db, task.signer)
  // 3.0.0 has no batch origin of its own making: rows signed alone carry theirs (they are the few from before chunks).
  const origin = task.wire === 2 ? pageOrigin(db, task.cursor, task.limit) : ''
  const page = collect(pageRows(db, task, origin), task.maxBytes - origin.length - 16, (task.wire ?? 1) >= 3 ? db : undefined, task.wire)
  const next = page.parts.length > 0 ? page.lastSeq : null
  const payload = Buffer.from(`${opening(origin, chunksPart(page))}${page.parts.join(',')}],"next_cursor":${next === null ? 'null' : next}}`)
  return { payload, count: page.parts.length, ...(page.tooLarge != null ? { tooLarge: page.tooLarge } : {}) }
}

/**
 * In the form of the connection's version from 3.0.0 on (`wire`), else the 2.0.0 form: a 1.0.0 server reads the spec's
 * fields and ignores origin and sig. Only entries this device vouches for go: signed by its key (the batch origin,
 * or a chunk of its own), or unsigned (from before signing); never one signed by another key.
 */
export function exportPush (task: ExportPushTask): ExportPushResult {
  const db = workerDb(task.dbPath)
  if (task.signer != null) signPending(db, task.signer)
  const origin = task.signer?.origin ?? ''
  const v3 = (task.wire ?? 1) >= 3
  const rows = db
    .prepare(`SELECT ${v3 ? chunkedJsonSql(task.wire!) : `${entryJsonV2Sql}, ingest_seq, NULL, NULL`} FROM entries WHERE device_id = @deviceId AND ingest_seq > @afterSeq AND ${rowOriginSql()} IN ('', @batchOrigin) ORDER BY ingest_seq LIMIT @limit`)
    .raw().iterate({ deviceId: task.deviceId, afterSeq: task.afterSeq, limit: task.limit, batchOrigin: origin, ...(v3 ? chunkedParams(task.wire!, task.signer) : {}) }) as Iterable<Row>
  const batchOrigin = v3 ? '' : origin
  const page = collect(rows, task.maxBytes - batchOrigin.length - 16, v3 ? db : undefined, task.wire)
  const payload = Buffer.from(`${opening(batchOrigin, chunksPart(page))}${page.parts.join(',')}]}`)
  return { payload, count: page.parts.length, lastSeq: page.lastSeq, ...(page.tooLarge != null ? { tooLarge: page.tooLarge } : {}) }
}

/**
 * Signs every pending entry, one chunk per transaction (a chunk whose rows were all dropped as copies ends it early);
 * then gives rows linked to a chunk with no place yet their place, as many per transaction (placeChunkRows), from
 * the ingest_seq the last task got to (`placedUpTo`) to the newest row.
 */
export function signAhead (task: SignPendingTask): SignPendingResult {
  const db = workerDb(task.dbPath)
  let signed = 0
  for (let n = signPending(db, task.signer, task.chunkRows); n > 0; n = signPending(db, task.signer, task.chunkRows)) signed += n
  let placed = 0
  let upTo = task.placedUpTo ?? 0
  for (let step = placeChunkRows(db, task.chunkRows, upTo); step.upTo > upTo; step = placeChunkRows(db, task.chunkRows, upTo)) {
    placed += step.placed
    upTo = step.upTo
  }
  return { signed, placed, placedUpTo: upTo }
}
