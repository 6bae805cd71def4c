/** The append-only entries table: batch ingest with dedup, cursor pages, own-device pages. */
import type { Database, Statement } from 'better-sqlite3'
import { entryColumns, withoutNulls, type Entry, type StoredEntry } from '../core/entry.js'
import { signEntry, type EntrySigner } from '../core/signature.js'

export interface InsertResult {
  inserted: number
  ignored: number
  /** Unverified rows that a signed copy took the place of (counted in inserted too); absent when none. */
  replaced?: number
}

const columns = entryColumns.join(', ')

/** Entries as the store takes them: received ones may carry the stamp they came with when it was clamped. */
export type StorableEntry = Entry & { ts_orig?: string }

/**
 * Where a batch comes from. 'local': recorded or imported on this device (stored unsigned, trust 2, and signed
 * lazily before it is served). 'received': from a peer; entries with origin and sig must have been verified by
 * the caller (they are stored as verified), entries without are stored unverified.
 */
export type Provenance = 'local' | 'received'

/** Values of entries.trust (schema v7). */
export const trust = { unverified: 0, verified: 1, localUnsigned: 2 } as const

/** Rows per multi-row INSERT: one statement step per 16 rows costs about 0.7 of 16 single-row steps (measured). */
const rowsPerStatement = 16

const unsignedColumns = `${columns}, trust, ts_orig`
const signedColumns = `${columns}, origin, sig, trust, ts_orig`
const unsignedWidth = entryColumns.length + 2
const signedWidth = entryColumns.length + 4

/**
 * Dedup is (entry_id, origin) (schema v7). An unsigned entry goes in only when no row has its entry_id at all, so
 * it can never sit beside (or in front of) a signed copy; a signed one goes in unless that key already holds it,
 * and then takes the place of an unverified row with its entry_id (see replaceUnverified). The statements are
 * cached per connection by rows: better-sqlite3 prepares anew on every db.prepare call.
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

function unsignedStatement (db: Database, rows: number): Statement {
  return cached(db, `u${rows}`, () => {
    const row = `(${Array.from({ length: unsignedWidth }, () => '?').join(', ')})`
    const values = Array.from({ length: rows }, () => row).join(', ')
    // The NOT EXISTS covers a signed row with this entry_id; the conflict clause covers an unsigned one.
    return `INSERT INTO entries (${unsignedColumns}) SELECT * FROM (VALUES ${values}) AS v
              WHERE NOT EXISTS (SELECT 1 FROM entries e WHERE e.entry_id = v.column1)
              ON CONFLICT(entry_id, origin) DO NOTHING`
  })
}

function signedStatement (db: Database, rows: number): Statement {
  return cached(db, `s${rows}`, () => {
    const row = `(${Array.from({ length: signedWidth }, () => '?').join(', ')})`
    return `INSERT INTO entries (${signedColumns}) VALUES ${Array.from({ length: rows }, () => row).join(', ')} ON CONFLICT(entry_id, origin) DO NOTHING`
  })
}

function pushRow (params: unknown[], e: StorableEntry, rowTrust: number, signed: boolean): void {
  params.push(e.entry_id, e.device_id, e.user_id, e.ts, e.cmd, e.cwd, e.exit_code, e.duration_ms, e.shell, e.hostname, e.version,
    e.session_id ?? null)
  if (signed) params.push(e.origin, e.sig)
  params.push(rowTrust, e.ts_orig ?? null)
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

/** Inserts one run of same-kind entries in order, 16 rows per statement and the rest one by one. */
function insertRun (db: Database, run: readonly StorableEntry[], rowTrust: number, signed: boolean): number {
  let inserted = 0
  let i = 0
  const statement = signed ? signedStatement : unsignedStatement
  const params: unknown[] = []
  if (run.length >= rowsPerStatement) {
    const multi = statement(db, rowsPerStatement)
    for (; i + rowsPerStatement <= run.length; i += rowsPerStatement) {
      params.length = 0
      for (let k = i; k < i + rowsPerStatement; k++) pushRow(params, run[k]!, rowTrust, signed)
      inserted += multi.run(params).changes
    }
  }
  const single = statement(db, 1)
  for (; i < run.length; i++) {
    params.length = 0
    pushRow(params, run[i]!, rowTrust, signed)
    inserted += single.run(params).changes
  }
  return inserted
}

/**
 * Unverified rows whose entry_id a signed row inserted after `afterSeq` now holds are deleted: the signed copy
 * takes their place. The signed row has a new ingest_seq, so peers that pulled the unverified row see the signed
 * one after their cursor and replace theirs the same way (nothing lost, nothing doubled). command_latest rows that
 * pointed at a deleted row are derived again from what is left.
 */
function replaceUnverified (db: Database, afterSeq: number): number {
  const gone = cached(db, 'replaced', () => `SELECT ingest_seq, entry_id, cmd FROM entries
      WHERE origin = '' AND trust = ${trust.unverified}
        AND entry_id IN (SELECT entry_id FROM entries WHERE ingest_seq > ? AND origin <> '')`)
    .all(afterSeq) as Array<{ ingest_seq: number, entry_id: string, cmd: string }>
  if (gone.length === 0) return 0
  const del = cached(db, 'delete-row', () => 'DELETE FROM entries WHERE ingest_seq = ?')
  const forget = cached(db, 'forget-latest', () => 'DELETE FROM command_latest WHERE cmd = ? AND entry_id = ?')
  const stale: string[] = []
  for (const row of gone) {
    del.run(row.ingest_seq)
    if (forget.run(row.cmd, row.entry_id).changes > 0) stale.push(row.cmd)
  }
  if (stale.length > 0) {
    // One scan for all the commands to derive again (rare: only when an unverified row is replaced).
    cached(db, 'rederive-latest', () => `INSERT INTO command_latest (ts, device_id, entry_id, cmd)
        SELECT ts, device_id, entry_id, cmd FROM entries WHERE cmd IN (SELECT value FROM json_each(?))
        ON CONFLICT (cmd) DO UPDATE SET ts = excluded.ts, device_id = excluded.device_id, entry_id = excluded.entry_id
          WHERE (excluded.ts, excluded.device_id, excluded.entry_id) > (command_latest.ts, command_latest.device_id, command_latest.entry_id)`)
      .run(JSON.stringify(stale))
  }
  return gone.length
}

/**
 * Inserts entries inside a transaction (its own when none is open). Rows go in order, so ingest_seq follows the
 * batch order. `inserted + ignored` is the batch size; `replaced` counts unverified rows a signed copy took the
 * place of (they are among the inserted). command_latest is brought up to date in the same transaction.
 */
export function insertEntriesNoTx (db: Database, entries: readonly StorableEntry[], provenance: Provenance = 'local'): InsertResult {
  if (!db.inTransaction) return insertEntries(db, entries, provenance)
  const before = maxIngestSeq(db)
  let inserted = 0
  let signedInserted = 0
  const unsignedTrust = provenance === 'local' ? trust.localUnsigned : trust.unverified
  let start = 0
  while (start < entries.length) {
    const signed = provenance === 'received' && entries[start]!.sig != null
    let end = start + 1
    while (end < entries.length && (provenance === 'received' && entries[end]!.sig != null) === signed) end++
    const run = entries.slice(start, end)
    const n = insertRun(db, run, signed ? trust.verified : unsignedTrust, signed)
    inserted += n
    if (signed) signedInserted += n
    start = end
  }
  const replaced = signedInserted > 0 ? replaceUnverified(db, before) : 0
  if (inserted > 0) updateCommandLatest(db, before)
  return { inserted, ignored: entries.length - inserted, ...(replaced > 0 ? { replaced } : {}) }
}

/** Inserts a batch as one transaction and reports inserted vs ignored (already present). */
export function insertEntries (db: Database, entries: readonly StorableEntry[], provenance: Provenance = 'local'): InsertResult {
  return db.transaction(() => insertEntriesNoTx(db, entries, provenance)).immediate()
}

/**
 * Inserts a pulled batch and advances the peer's cursor in the same transaction: a crash at any instant
 * leaves either both or neither, so no entry is skipped and none is applied twice.
 */
export function ingestPulledBatch (db: Database, peerId: string, entries: readonly StorableEntry[], nextCursor: number): InsertResult {
  return db.transaction(() => {
    const result = insertEntriesNoTx(db, entries, 'received')
    db.prepare(`INSERT INTO peer_state (peer_id, last_cursor) VALUES (?, ?)
                ON CONFLICT(peer_id) DO UPDATE SET last_cursor = MAX(last_cursor, excluded.last_cursor)`).run(peerId, nextCursor)
    return result
  }).immediate()
}

/** Entries with ingest_seq > cursor, ascending, at most limit (the serving side of SyncPull). */
export function entriesAfter (db: Database, cursor: number, limit: number): StoredEntry[] {
  return db.prepare(`SELECT ingest_seq, ${columns} FROM entries WHERE ingest_seq > ? ORDER BY ingest_seq LIMIT ?`)
    .all(cursor, limit).map((row) => withoutNulls(row as StoredEntry))
}

/** This device's own entries after a local seq (the push side). */
export function ownEntriesAfter (db: Database, deviceId: string, seq: number, limit: number): StoredEntry[] {
  return db.prepare(`SELECT ingest_seq, ${columns} FROM entries WHERE device_id = ? AND ingest_seq > ? ORDER BY ingest_seq LIMIT ?`)
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
 * them yet: every serving path signs first). A row whose signed form is already stored (a copy of ours that came
 * back) is dropped. Returns how many were signed. Called lazily before serving, never on the record path; and ahead
 * of it in chunks of `maxRows` (src/p2p/sign-ahead.ts), so that a pull arriving meanwhile waits for one chunk only.
 */
export function signPending (db: Database, signer: EntrySigner, maxRows = -1): number {
  const probe = cached(db, 'pending-probe', () => `SELECT 1 FROM entries WHERE trust = ${trust.localUnsigned} LIMIT 1`)
  if (probe.get() == null) return 0
  return db.transaction(() => {
    const rows = cached(db, 'pending-rows', () => `SELECT ingest_seq, ${columns} FROM entries WHERE trust = ${trust.localUnsigned} ORDER BY ingest_seq LIMIT ?`)
      .all(maxRows).map((row) => withoutNulls(row as StoredEntry))
    const update = cached(db, 'pending-sign', () => `UPDATE OR IGNORE entries SET origin = ?, sig = ?, trust = ${trust.verified} WHERE ingest_seq = ?`)
    const drop = cached(db, 'delete-row', () => 'DELETE FROM entries WHERE ingest_seq = ?')
    let signed = 0
    for (const row of rows) {
      const { sig } = signEntry(stripSeq(row), signer)
      if (update.run(signer.origin, sig, row.ingest_seq).changes > 0) signed++
      else drop.run(row.ingest_seq)
    }
    return signed
  }).immediate()
}
