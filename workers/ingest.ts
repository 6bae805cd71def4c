/** Bulk ingest in a worker thread: JSON parsing, validation, signature checks and the insert transaction stay off the network loop. */
import { admitReceived, chunkDigests, type AdmitOptions, type Admitted, type WireVersion } from '../src/core/admit.js'
import { validateBatch, type Entry } from '../src/core/entry.js'
import { chunkVerificationInput, type Chunk } from '../src/core/chunk.js'
import { decodeJson, parseChunks, parseEntriesPush, parseSyncBatch, takeChunkRefs } from '../src/protocol/messages.js'
import { ingestPulledBatch, insertEntries, insertEntriesNoTx, knownChunks } from '../src/store/entries.js'
import { recordImportBatch } from '../src/store/imports.js'
import { workerDb } from './db-cache.js'
import { verifyAll, verifyElsewhere } from './verify-parallel.js'
import type { IngestEntriesResult, IngestEntriesTask, IngestPulledResult, IngestPulledTask, IngestPushResult, IngestPushTask } from './tasks.js'

/** A received message's entries as validateBatch sees them, and (3.0.0) its chunks and each entry's chunk reference. */
interface Received {
  entries: unknown[]
  chunks: Chunk[]
  refs: Array<number | undefined>
}

/** On 3.0.0 the chunks are parsed and each entry's `k` taken off it (before validation); elsewhere both are ignored. */
function received (message: { entries: unknown[], chunks?: unknown }, wire: WireVersion, what: string): Received {
  if (wire !== 3) return { entries: message.entries, chunks: [], refs: [] }
  const chunks = parseChunks(message.chunks, what)
  return { chunks, refs: takeChunkRefs(message.entries, chunks), entries: message.entries }
}

/**
 * admitReceived with the batch's signatures checked first, on several threads (workers/verify-parallel.ts): the
 * same entries need a check as admitReceived would check itself (2.0.0 or 3.0.0, signed, not by the connection's
 * own peer). On 3.0.0, when some entries are relayed (their chunk's origin is not that peer), the manifests that
 * entries name and this database does not hold yet are checked on a helper thread while this one hashes the entries
 * to find in them (chunkDigests); admitReceived then checks each entry's hash against its manifest, and again here
 * any manifest the helper did not pass (none is taken as valid unchecked).
 */
async function admit (dbPath: string, valid: Entry[], indexes: number[], wire: WireVersion, message: Received, peerId?: string): Promise<Admitted> {
  const verdicts = wire !== 1 ? await verifyAll(valid, (e) => e.sig != null && e.origin !== peerId) : []
  const known = knownChunks(workerDb(dbPath), message.chunks)
  const options: AdmitOptions = {
    wire,
    now: Date.now(),
    ...(peerId != null ? { authenticatedPeer: peerId } : {}),
    verify: (_e, i) => verdicts[i] === true,
    chunks: message.chunks,
    chunkRef: (i) => message.refs[indexes[i]!]
  }
  let passed: boolean[] = []
  const named = new Set<number>()
  let relayed = false
  for (let i = 0; wire === 3 && i < valid.length; i++) {
    const k = options.chunkRef!(i)
    if (k === undefined || k < 0) continue
    if (known[k] !== true) named.add(k)
    if (message.chunks[k]?.origin !== peerId) relayed = true
  }
  // Only with entries to hash meanwhile. First-hand entries are not hashed: with nothing to overlap, admitReceived
  // checks their manifests on this thread, without a hand-off.
  if (relayed && named.size > 0) {
    const toCheck = [...named].flatMap((k) => {
      const input = chunkVerificationInput(message.chunks[k]!)
      return input != null ? [{ k, input }] : []
    })
    const checked = verifyElsewhere(toCheck.map((x) => x.input))
    options.digests = chunkDigests(valid, options)
    const verdicts = await checked
    passed = []
    toCheck.forEach((x, j) => { passed[x.k] = verdicts[j] === true })
  }
  return admitReceived(valid, { ...options, chunkKnown: (k) => known[k] === true || passed[k] === true }, indexes)
}

export async function ingestPulled (task: IngestPulledTask): Promise<IngestPulledResult> {
  const parsed = parseSyncBatch(decodeJson(task.payload, 'SyncBatch'))
  const batch = { ...parsed, ...received(parsed, task.wire, 'SyncBatch') }
  if (task.parsed != null) {
    task.parsed.postMessage({ received: batch.entries.length, nextCursor: batch.next_cursor })
    task.parsed.close()
  }
  const { valid, indexes, rejected } = validateBatch(batch.entries)
  if (batch.next_cursor == null) return { received: 0, inserted: 0, ignored: 0, clamped: 0, rejected, nextCursor: null }
  const admitted = await admit(task.dbPath, valid, indexes, task.wire, batch, task.peerId)
  const result = ingestPulledBatch(workerDb(task.dbPath), task.peerId, admitted.entries, batch.next_cursor, batch.chunks)
  return { received: batch.entries.length, ...result, clamped: admitted.clamped, rejected: [...rejected, ...admitted.rejected], nextCursor: batch.next_cursor }
}

export async function ingestPush (task: IngestPushTask): Promise<IngestPushResult> {
  const wire = task.wire ?? 1
  let message: Received
  try {
    message = received(parseEntriesPush(decodeJson(task.payload, 'EntriesPush')), wire, 'EntriesPush')
  } catch (err) {
    return { ok: false, inserted: 0, ignored: 0, rejected: [], error: (err as Error).message }
  }
  const { valid, indexes, rejected } = validateBatch(message.entries)
  const admitted = await admit(task.dbPath, valid, indexes, wire, message, task.peerId)
  const all = [...rejected, ...admitted.rejected]
  const result = insertEntries(workerDb(task.dbPath), admitted.entries, 'received', message.chunks)
  return { ok: all.length === 0, ...result, clamped: admitted.clamped, rejected: all }
}

export function ingestEntries (task: IngestEntriesTask): IngestEntriesResult {
  const db = workerDb(task.dbPath)
  if (task.batch == null) return insertEntries(db, task.entries)
  const batch = task.batch
  return db.transaction(() => recordImportBatch(db, batch, () => insertEntriesNoTx(db, task.entries))).immediate()
}
