/** The append-only entries table: batch ingest with dedup, cursor pages, own-device pages. */
import type { Database, Statement } from 'better-sqlite3'
import { entryColumns, withoutNulls, type Entry, type StoredEntry } from '../core/entry.js'
import { ChunkHashes, entryHash, hashBytes, maxChunkEntries, sha256, signHashes, type Chunk } from '../core/chunk.js'
import { canonicalEntryBytes, signBytes, type EntrySigner } from '../core/signature.js'
import { rowOriginSql } from './wire-id.js'

export interface InsertResult {
  inserted: number
  ignored: number
  /** Unverified rows that a signed copy took the place of (counted in inserted too); absent when none. */
  replaced?: number
}

const columns = entryColumns.join(', ')
/** The columns as served: a rival copy under its wire entry_id (see wireIdSql). */
const wireColumns = entryColumns.map((c) => c === 'entry_id' ? 'COALESCE(rival_of, entry_id) AS entry_id' : c).join(', ')

/**
 * Entries as the store takes them: received ones may carry the stamp they came with when it was clamped, and an
 * entry verified against a chunk manifest (wire 3.0.0) names it: `chunk_ref` is its place in the `chunks` given to
 * insertEntriesNoTx (never a wire field: validateEntry drops it).
 */
export type StorableEntry = Entry & { ts_orig?: string, chunk_ref?: number, chunk_pos?: number | undefined }

/**
 * Where a batch comes from. 'local': recorded or imported on this device (stored unsigned, trust 2, and signed
 * lazily before it is served). 'received': from a peer; entries with origin (and sig, or chunk_ref) must have been
 * verified by the caller (they are stored as verified), entries without are stored unverified.
 */
export type Provenance = 'local' | 'received'

/** Values of entries.trust (schema v7). */
export const trust = { unverified: 0, verified: 1, localUnsigned: 2 } as const

/** Rows per multi-row INSERT: one statement step per 16 rows costs about 0.7 of 16 single-row steps (measured). */
const rowsPerStatement = 16

/**
 * How a row is written: unsigned; signed (its origin and sig, or its chunk: the form every conflict path writes); or
 * chunked, the bulk of a relayed pull (verified against a chunk, no sig of its own: origin '' and sig NULL are the
 * columns' defaults, so only its chunk and place are bound).
 */
type RowKind = 'unsigned' | 'signed' | 'chunked'
const kindColumns: Record<RowKind, string> = {
  unsigned: `${columns}, trust, ts_orig`,
  signed: `${columns}, origin, sig, chunk, chunk_pos, trust, ts_orig`,
  chunked: `${columns}, chunk, chunk_pos, trust, ts_orig`
}
const kindWidth: Record<RowKind, number> = { unsigned: entryColumns.length + 2, signed: entryColumns.length + 6, chunked: entryColumns.length + 4 }
const signedColumns = kindColumns.signed
const signedWidth = kindWidth.signed

/**
 * One row per entry_id (schema v7, kept so rustory 0.1.0's `ON CONFLICT(entry_id)` keeps working beside this one).
 * Both statements are that plain insert: an unsigned entry goes in only when its entry_id is not stored at all (a
 * rival is stored only beside a row holding its entry_id, so that covers rivals too); a signed one that meets a row
 * of its entry_id goes through placeSigned. The statements are cached per connection by rows: better-sqlite3
 * prepares anew on every db.prepare call.
 */
const statements = new WeakMap<Database, Map<string, Statement>>()

function cached (db: Database, key: string, sql: () => string): Statement {
  let byKey = statements.get(db)
  if (byKey == null) statements.set(db, byKey = new Map())
  let stmt = byKey.get(key)
  if (stmt == null) {
    stmt = db.prepare(sql())
    byKey.set(key, stmt)
  }
  return stmt
}

function insertStatement (db: Database, rows: number, kind: RowKind): Statement {
  return cached(db, `${kind}${rows}`, () => {
    const row = `(${Array.from({ length: kindWidth[kind] }, () => '?').join(', ')})`
    return `INSERT INTO entries (${kindColumns[kind]}) VALUES ${Array.from({ length: rows }, () => row).join(', ')}
              ON CONFLICT(entry_id) DO NOTHING`
  })
}

/**
 * Writes a row's parameters into `params` from place `at` and returns where they end. By place, into arrays made
 * once per run at their final size: pushed onto an emptied array, every 16-row statement grew it again from nothing
 * (about half of what an ingest allocated, measured with the sampling heap profiler).
 */
function fillRow (params: unknown[], at: number, e: StorableEntry, rowTrust: number, kind: RowKind, chunkIds: readonly number[]): number {
  params[at++] = e.entry_id
  params[at++] = e.device_id
  params[at++] = e.user_id
  params[at++] = e.ts
  params[at++] = e.cmd
  params[at++] = e.cwd
  params[at++] = e.exit_code
  params[at++] = e.duration_ms
  params[at++] = e.shell
  params[at++] = e.hostname
  params[at++] = e.version
  params[at++] = e.session_id ?? null
  if (kind === 'signed') {
    // Verified against a chunk, without a signature of its own: its origin is its chunk's (schema 13, rowOriginSql).
    params[at++] = e.chunk_ref != null && e.sig == null ? '' : e.origin
    params[at++] = e.sig ?? null
  }
  if (kind !== 'unsigned') {
    params[at++] = e.chunk_ref != null ? chunkIds[e.chunk_ref] : null
    params[at++] = e.chunk_ref != null ? e.chunk_pos ?? null : null
  }
  params[at++] = rowTrust
  params[at++] = e.ts_orig ?? null
  return at
}

export { rowOriginSql, wireIdSql } from './wire-id.js'

/** Where a rival copy of `entryId` signed by `origin` is stored. Never a UUID (it has a '/'). */
export function rivalStorageId (entryId: string, origin: string): string {
  return `${entryId}/${origin}`
}

/**
 * command_latest upkeep for the rows inserted after `afterSeq`: one set-based upsert, most recent use in UI order
 * wins whatever the insert order (see schema v3/v4). Walking the new rows by cmd keeps the unique index's pages hot.
 */
function updateCommandLatest (db: Database, afterSeq: number): void {
  let stmt = latestStatements.get(db)
  if (stmt == null) {
    stmt = db.prepare(`INSERT INTO command_latest (ts, device_id, entry_id, cmd)
        SELECT ts, device_id, entry_id, cmd FROM entries WHERE ingest_seq > ? ORDER BY cmd
        ON CONFLICT (cmd) DO UPDATE SET ts = excluded.ts, device_id = excluded.device_id, entry_id = excluded.entry_id
          WHERE (excluded.ts, excluded.device_id, excluded.entry_id) > (command_latest.ts, command_latest.device_id, command_latest.entry_id)`)
    latestStatements.set(db, stmt)
  }
  stmt.run(afterSeq)
}
const latestStatements = new WeakMap<Database, Statement>()

/**
 * Rows deleted while inserting a batch (their command_latest rows are fixed once, at the end), replacements, and
 * the local ids of the batch's chunks by chunk_ref (see storeChunks).
 */
interface Batch { gone: Gone, replaced: number, chunkIds: readonly number[] }
type Gone = Array<{ entry_id: string, cmd: string }>

/** Inserts one run of same-kind entries in order, 16 rows per statement and the rest one by one. */
function insertRun (db: Database, run: readonly StorableEntry[], rowTrust: number, kind: RowKind, batch: Batch): number {
  let inserted = 0
  let i = 0
  const width = kindWidth[kind]
  const signed = kind !== 'unsigned'
  if (run.length >= rowsPerStatement) {
    const multi = insertStatement(db, rowsPerStatement, kind)
    const params = new Array<unknown>(width * rowsPerStatement)
    for (; i + rowsPerStatement <= run.length; i += rowsPerStatement) {
      let at = 0
      for (let k = i; k < i + rowsPerStatement; k++) at = fillRow(params, at, run[k]!, rowTrust, kind, batch.chunkIds)
      const n = multi.run(params).changes
      inserted += n
      // Some entry_ids were stored already: the signed ones among them may still belong beside (or instead of) them.
      if (signed && n < rowsPerStatement) inserted += placeChunk(db, run, i, rowTrust, batch)
    }
  }
  const single = insertStatement(db, 1, kind)
  const params = new Array<unknown>(width)
  for (; i < run.length; i++) {
    fillRow(params, 0, run[i]!, rowTrust, kind, batch.chunkIds)
    const n = single.run(params).changes
    inserted += n > 0 || !signed ? n : placeSigned(db, run[i]!, rowTrust, batch)
  }
  return inserted
}

/**
 * placeSigned for the entries of a 16-row chunk whose entry_id is held under another origin, found in one statement:
 * a pull going over entries it has already (the same entry from several peers) costs one step per chunk, not 16.
 */
function placeChunk (db: Database, run: readonly StorableEntry[], from: number, rowTrust: number, batch: Batch): number {
  const params: unknown[] = []
  for (let k = from; k < from + rowsPerStatement; k++) params.push(run[k]!.entry_id, run[k]!.origin)
  const differ = cached(db, 'held-chunk', () => `SELECT v.column1 FROM (VALUES ${Array.from({ length: rowsPerStatement }, () => '(?, ?)').join(', ')}) v
      JOIN entries e ON e.entry_id = v.column1 WHERE ${rowOriginSql('e')} <> v.column2`).pluck().all(params) as string[]
  let inserted = 0
  for (let k = from; k < from + rowsPerStatement && differ.length > 0; k++) {
    if (differ.includes(run[k]!.entry_id)) inserted += placeSigned(db, run[k]!, rowTrust, batch)
  }
  return inserted
}

/**
 * A verified signed entry whose entry_id is stored already. Nothing to do when that row has its origin, or it is a
 * rival stored already, or no row has the entry_id (the tombstone trigger refused it). An unverified row gives way:
 * it is deleted and the signed entry takes its entry_id, at a new ingest_seq, so peers that pulled the unverified
 * row see the signed one after their cursor and replace theirs the same way. A row signed by another key (or one
 * recorded here, not signed yet) stays, and the entry is stored beside it as a rival. Returns the rows inserted.
 */
function placeSigned (db: Database, e: StorableEntry, rowTrust: number, batch: Batch): number {
  // Without cmd: a known entry (a pull going over rows it has) costs one index probe and the row's first columns.
  const held = cached(db, 'held', () => `SELECT ${rowOriginSql()}, trust FROM entries WHERE entry_id = ?`).raw()
    .get(e.entry_id) as [origin: string, trust: number] | undefined
  if (held == null || held[0] === e.origin) return 0
  const params = new Array<unknown>(signedWidth)
  fillRow(params, 0, e, rowTrust, 'signed', batch.chunkIds)
  if (held[0] === '' && held[1] === trust.unverified) {
    const cmd = cached(db, 'delete-id', () => 'DELETE FROM entries WHERE entry_id = ? RETURNING cmd').pluck().get(e.entry_id) as string
    batch.gone.push({ entry_id: e.entry_id, cmd })
    const n = insertStatement(db, 1, 'signed').run(params).changes
    batch.replaced += n
    return n
  }
  params[0] = rivalStorageId(e.entry_id, e.origin!)
  params.push(e.entry_id)
  return cached(db, 'rival', () => `INSERT INTO entries (${signedColumns}, rival_of)
      VALUES (${Array.from({ length: signedWidth + 1 }, () => '?').join(', ')}) ON CONFLICT(entry_id) DO NOTHING`).run(params).changes
}

/**
 * Deleted rows' command_latest rows are dropped, and those commands derived again from what is left (one scan for
 * all of them; rare: only when a row was replaced or a duplicate dropped).
 */
function fixLatest (db: Database, gone: Gone): void {
  if (gone.length === 0) return
  const forget = cached(db, 'forget-latest', () => 'DELETE FROM command_latest WHERE cmd = ? AND entry_id = ?')
  const stale = new Set<string>()
  for (const row of gone) if (forget.run(row.cmd, row.entry_id).changes > 0) stale.add(row.cmd)
  if (stale.size === 0) return
  cached(db, 'rederive-latest', () => `INSERT INTO command_latest (ts, device_id, entry_id, cmd)
      SELECT ts, device_id, entry_id, cmd FROM entries WHERE cmd IN (SELECT value FROM json_each(?))
      ON CONFLICT (cmd) DO UPDATE SET ts = excluded.ts, device_id = excluded.device_id, entry_id = excluded.entry_id
        WHERE (excluded.ts, excluded.device_id, excluded.entry_id) > (command_latest.ts, command_latest.device_id, command_latest.entry_id)`)
    .run(JSON.stringify([...stale]))
}

/**
 * Inserts entries inside a transaction (its own when none is open). Rows go in order, so ingest_seq follows the
 * batch order. `inserted + ignored` is the batch size; `replaced` counts unverified rows a signed copy took the
 * place of (they are among the inserted). command_latest is brought up to date in the same transaction.
 */
export function insertEntriesNoTx (db: Database, entries: readonly StorableEntry[], provenance: Provenance = 'local', chunks: readonly Chunk[] = []): InsertResult {
  if (!db.inTransaction) return insertEntries(db, entries, provenance, chunks)
  const before = maxIngestSeq(db)
  let inserted = 0
  const batch: Batch = { gone: [], replaced: 0, chunkIds: storeChunks(db, chunks, entries) }
  const unsignedTrust = provenance === 'local' ? trust.localUnsigned : trust.unverified
  const kindOf = (e: StorableEntry): RowKind => provenance !== 'received' || e.origin == null || (e.sig == null && e.chunk_ref == null)
    ? 'unsigned'
    : e.sig == null ? 'chunked' : 'signed'
  let start = 0
  while (start < entries.length) {
    const kind = kindOf(entries[start]!)
    let end = start + 1
    while (end < entries.length && kindOf(entries[end]!) === kind) end++
    inserted += insertRun(db, entries.slice(start, end), kind === 'unsigned' ? unsignedTrust : trust.verified, kind, batch)
    start = end
  }
  fixLatest(db, batch.gone)
  if (inserted > 0) updateCommandLatest(db, before)
  const { replaced } = batch
  return { inserted, ignored: entries.length - inserted, ...(replaced > 0 ? { replaced } : {}) }
}

/**
 * For each chunk, whether this database holds it already with the same origin, signature and hashes: then it was
 * checked (or signed here) before it was stored, since nothing else is stored (storeChunks, signPending). The
 * hashes must match too: the same signature presented with other hashes proves nothing and is checked anew.
 */
export function knownChunks (db: Database, chunks: readonly Chunk[]): boolean[] {
  if (chunks.length === 0) return []
  const stored = cached(db, 'chunk-hashes', () => 'SELECT hashes FROM chunks WHERE origin = ? AND sig = ?').pluck()
  return chunks.map((c) => {
    const hashes = stored.get(c.origin, c.sig) as Buffer | undefined
    return hashes != null && hashes.equals(c.hashes)
  })
}

/**
 * Stores the chunk manifests that entries of this batch were verified against (the caller checked each signature),
 * once per (origin, sig), and returns their local ids by place in `chunks`. A chunk no entry names is not stored.
 *
 * Manifests grow (signPending): the same origin signs a run of entries again with more on the end. Of such a run only
 * the longest is kept, found by origin and first hash (index chunks_head):
 * - one held here whose hashes are a prefix of the new one's is replaced by it in place: its rows keep their link,
 *   and each is still listed;
 * - when one held here has the new one's hashes as its prefix, the batch's rows link to it, and the new one is not
 *   stored: it lists nothing that one does not.
 * Both are signed by the same origin and both were checked, so every linked row stays listed in a manifest its
 * origin signed. Anything else (another origin, hashes that differ before either ends) is stored beside.
 */
function storeChunks (db: Database, chunks: readonly Chunk[], entries: readonly StorableEntry[]): number[] {
  if (chunks.length === 0) return []
  const used = new Set<number>()
  for (const e of entries) if (e.chunk_ref != null) used.add(e.chunk_ref)
  const add = cached(db, 'chunk-add', () => 'INSERT INTO chunks (origin, sig, hashes) VALUES (?, ?, ?) ON CONFLICT (origin, sig) DO NOTHING')
  const find = cached(db, 'chunk-find', () => 'SELECT id FROM chunks WHERE origin = ? AND sig = ?').pluck()
  const sameHead = cached(db, 'chunk-head', () => chunkHeadSql)
  return chunks.map((c, k) => {
    if (!used.has(k)) return 0
    const held = find.get(c.origin, c.sig) as number | undefined
    if (held != null) return held
    if (c.hashes.length >= hashBytes) {
      const run = sameHead.all(c.origin, c.hashes.subarray(0, hashBytes)) as Array<{ id: number, hashes: Buffer }>
      const longer = run.find((r) => r.hashes.length >= c.hashes.length && isPrefix(c.hashes, r.hashes))
      if (longer != null) return longer.id
      const shorter = run.find((r) => isPrefix(r.hashes, c.hashes))
      if (shorter != null) {
        regrowChunk(db, shorter.id, c)
        return shorter.id
      }
    }
    add.run(c.origin, c.sig, c.hashes)
    return find.get(c.origin, c.sig) as number
  })
}

/** The stored manifests of an origin that begin with a given hash (through the index chunks_head, schema 12). */
export const chunkHeadSql = 'SELECT id, hashes FROM chunks WHERE origin = ? AND substr(hashes, 1, 32) = ?'

/** A stored manifest replaced in place by a longer one of the same origin (its rows keep their link to `id`). */
function regrowChunk (db: Database, id: number, grown: Chunk): void {
  cached(db, 'chunk-regrow', () => 'UPDATE chunks SET sig = ?, hashes = ? WHERE id = ?').run(grown.sig, grown.hashes, id)
}

/** True when `a` is `b`'s first a.length bytes (whole hashes: both are runs of 32-byte hashes). */
function isPrefix (a: Buffer, b: Buffer): boolean {
  return a.length <= b.length && a.length % hashBytes === 0 && b.compare(a, 0, a.length, 0, a.length) === 0
}

/** Inserts a batch as one transaction and reports inserted vs ignored (already present). */
export function insertEntries (db: Database, entries: readonly StorableEntry[], provenance: Provenance = 'local', chunks: readonly Chunk[] = []): InsertResult {
  return db.transaction(() => insertEntriesNoTx(db, entries, provenance, chunks)).immediate()
}

/**
 * Inserts a pulled batch and advances the peer's cursor in the same transaction: a crash at any instant
 * leaves either both or neither, so no entry is skipped and none is applied twice.
 */
export function ingestPulledBatch (db: Database, peerId: string, entries: readonly StorableEntry[], nextCursor: number, chunks: readonly Chunk[] = []): InsertResult {
  return db.transaction(() => {
    const result = insertEntriesNoTx(db, entries, 'received', chunks)
    db.prepare(`INSERT INTO peer_state (peer_id, last_cursor) VALUES (?, ?)
                ON CONFLICT(peer_id) DO UPDATE SET last_cursor = MAX(last_cursor, excluded.last_cursor)`).run(peerId, nextCursor)
    return result
  }).immediate()
}

/** Entries with ingest_seq > cursor, ascending, at most limit (the serving side of SyncPull). */
export function entriesAfter (db: Database, cursor: number, limit: number): StoredEntry[] {
  return db.prepare(`SELECT ingest_seq, ${wireColumns} FROM entries WHERE ingest_seq > ? ORDER BY ingest_seq LIMIT ?`)
    .all(cursor, limit).map((row) => withoutNulls(row as StoredEntry))
}

/** This device's own entries after a local seq (the push side). */
export function ownEntriesAfter (db: Database, deviceId: string, seq: number, limit: number): StoredEntry[] {
  return db.prepare(`SELECT ingest_seq, ${wireColumns} FROM entries WHERE device_id = ? AND ingest_seq > ? ORDER BY ingest_seq LIMIT ?`)
    .all(deviceId, seq, limit).map((row) => withoutNulls(row as StoredEntry))
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

/**
 * Signs this device's entries still unsigned (trust 2: recorded or imported here) with its identity key, in one
 * immediate transaction: they become verified rows under `signer.origin`, keeping their ingest_seq (nothing served
 * them yet: every serving path signs first). Each gets its own signature (what the 2.0.0 wire carries), and they go
 * into chunk manifests of up to maxChunkEntries, in ingest_seq order (what the 3.0.0 wire carries;
 * src/core/chunk.ts), stored in `chunks` and linked from the rows. A stored copy of one signed by this same key (it
 * came back) is dropped. Returns how many were signed. Called lazily before serving, never on the record path; and
 * ahead of it in chunks of `maxRows` (src/p2p/sign-ahead.ts), so that a pull arriving meanwhile waits for one chunk only.
 *
 * The last chunk grows: while this key's newest manifest has room, the first entries signed go on the end of it and
 * the whole manifest is signed again, in place (same id, so its rows stay linked; the old hashes are a prefix of the
 * new ones, so every row it listed is still listed). A device signs what it recorded every few seconds (sign-ahead,
 * and every pull); with a new manifest each time, a history recorded live was one manifest per one or two entries,
 * and a receiver checked an Ed25519 signature per entry or two: 4 times the ingest of the same entries unsigned, and
 * half again the bytes (npm run bench, "signed a few at a time"). Receivers keep only the longest (storeChunks).
 */
export function signPending (db: Database, signer: EntrySigner, maxRows = -1): number {
  const probe = cached(db, 'pending-probe', () => `SELECT 1 FROM entries WHERE trust = ${trust.localUnsigned} LIMIT 1`)
  if (probe.get() == null) return 0
  return db.transaction(() => {
    const rows = cached(db, 'pending-rows', () => `SELECT ingest_seq, ${columns} FROM entries WHERE trust = ${trust.localUnsigned} ORDER BY ingest_seq LIMIT ?`)
      .all(maxRows).map((row) => withoutNulls(row as StoredEntry))
    const update = cached(db, 'pending-sign', () => `UPDATE entries SET origin = ?, sig = ?, chunk = ?, chunk_pos = ?, trust = ${trust.verified} WHERE ingest_seq = ?`)
    const addChunk = cached(db, 'pending-chunk', () => 'INSERT INTO chunks (origin, sig, hashes) VALUES (?, ?, ?)')
    // A copy signed by this key that reached us first is stored as a rival: the row signed here is that entry.
    const dropCopy = cached(db, 'pending-copy', () => 'DELETE FROM entries WHERE entry_id = ? RETURNING entry_id, cmd')
    const gone: Gone = []
    let open = openChunk(db, signer.origin)
    for (let from = 0; from < rows.length;) {
      const room = open != null ? maxChunkEntries - open.hashes.length / hashBytes : maxChunkEntries
      const group = rows.slice(from, from + room)
      from += group.length
      const kept = open?.hashes.length ?? 0
      const hashes = Buffer.allocUnsafe(kept + hashBytes * group.length)
      open?.hashes.copy(hashes, 0)
      const sigs = group.map((row, i) => {
        const bytes = canonicalEntryBytes(stripSeq(row), signer.origin)
        sha256(bytes).copy(hashes, kept + hashBytes * i)
        return signBytes(bytes, signer.secretKey).toString('base64')
      })
      const chunk = signHashes(hashes, signer)
      let chunkId: number | bigint
      if (open != null) {
        regrowChunk(db, open.id, chunk)
        chunkId = open.id
      } else {
        chunkId = addChunk.run(chunk.origin, chunk.sig, chunk.hashes).lastInsertRowid
      }
      open = undefined
      group.forEach((row, i) => {
        update.run(signer.origin, sigs[i], chunkId, kept / hashBytes + i, row.ingest_seq)
        gone.push(...dropCopy.all(rivalStorageId(row.entry_id, signer.origin)) as Gone)
      })
    }
    fixLatest(db, gone)
    return rows.length
  }).immediate()
}

/**
 * This key's newest manifest when it has room for more entries (signPending grows it), else undefined. Newest by
 * id: signPending adds this key's chunks in ingest_seq order and grows them in place.
 */
function openChunk (db: Database, origin: string): { id: number, hashes: Buffer } | undefined {
  const last = cached(db, 'open-chunk', () => 'SELECT id, hashes FROM chunks WHERE origin = ? ORDER BY id DESC LIMIT 1')
    .get(origin) as { id: number, hashes: Buffer } | undefined
  if (last == null || last.hashes.length % hashBytes !== 0 || last.hashes.length >= maxChunkEntries * hashBytes) return undefined
  return last
}

/** What placeChunkRows did: rows given their place, and the ingest_seq it has looked up to. */
export interface PlacedRows {
  placed: number
  upTo: number
}

/** A row's columns as its origin signed it: under its wire entry_id (a rival's), with the stamp it came with. */
const asSignedColumns = entryColumns.map((c) => c === 'entry_id' ? 'COALESCE(rival_of, entry_id) AS entry_id' : c === 'ts' ? 'COALESCE(ts_orig, ts) AS ts' : c).join(', ')

/** Rows placeChunkRows reads by ingest_seq per row it may place: a history mostly placed already is walked in steps. */
const scannedPerPlaced = 16

/**
 * Gives rows linked to a chunk with no place yet (chunk_pos NULL: linked before schema 14, by an older release
 * writing to this file, or taken first-hand by `k` without hashing) their place in it: each row's hash under its
 * chunk's origin looked up in the chunk's hashes (-1 when it is not there: such a row goes by `k`, whole manifest,
 * and its next hop checks it). A 4.0.0 server then sends these rows by runs (docs/PROTOCOL.md, "Runs (4.0.0)").
 * Walks the table by ingest_seq from `after`, at most `maxRows * scannedPerPlaced` of it per call, and places up to
 * `maxRows` rows in one immediate transaction; no index finds them (schema 15): the caller keeps where it got to
 * (`upTo`), and a new row always has a higher ingest_seq. `upTo` equal to `after`: nothing left to look at.
 */
export function placeChunkRows (db: Database, maxRows: number, after = 0): PlacedRows {
  const end = Math.min(maxIngestSeq(db), after + maxRows * scannedPerPlaced)
  if (end <= after) return { placed: 0, upTo: after }
  const rows = cached(db, 'unplaced-rows', () => `SELECT ingest_seq, ${asSignedColumns}, chunk FROM entries
      WHERE ingest_seq > ? AND ingest_seq <= ? AND chunk IS NOT NULL AND chunk_pos IS NULL ORDER BY ingest_seq LIMIT ?`)
    .all(after, end, maxRows) as Array<StoredEntry & { chunk: number }>
  const upTo = rows.length === maxRows ? rows[rows.length - 1]!.ingest_seq : end
  if (rows.length === 0) return { placed: 0, upTo }
  // Hashed before the write lock is taken; a row changed meanwhile (deleted, or its chunk set anew) is left as it is.
  const chunkOf = cached(db, 'unplaced-chunk', () => 'SELECT origin, sig, hashes FROM chunks WHERE id = ?')
  const lists = new Map<number, ChunkHashes | undefined>()
  const places = rows.map((row) => {
    let list = lists.get(row.chunk)
    if (!lists.has(row.chunk)) {
      const chunk = chunkOf.get(row.chunk) as Chunk | undefined
      lists.set(row.chunk, list = chunk != null ? new ChunkHashes(chunk) : undefined)
    }
    const { chunk: _c, ...entry } = row
    try {
      if (list != null) return list.positionOf(entryHash(stripSeq(withoutNulls(entry)), list.chunk.origin), 0)
    } catch {}
    return -1
  })
  const place = cached(db, 'unplaced-place', () => 'UPDATE entries SET chunk_pos = ? WHERE ingest_seq = ? AND chunk = ? AND chunk_pos IS NULL')
  const placed = db.transaction(() => rows.reduce((n, row, i) => n + place.run(places[i], row.ingest_seq, row.chunk).changes, 0)).immediate()
  return { placed, upTo }
}
