/** Bulk ingest in a worker thread: JSON parsing, validation, signature checks and the insert transaction stay off the network loop. */
import { admitReceived, chunkDigests, type AdmitOptions, type Admitted, type WireVersion } from '../src/core/admit.js'
import { validateBatch, type Entry } from '../src/core/entry.js'
import { chunkVerificationInput, rebuildChunks, type ChunkWithRuns } from '../src/core/chunk.js'
import { receivedDigests, type EntryDigests } from '../src/core/entry-digests.js'
import { decodeJson, parseChunks, parseEntriesPush, parseSyncBatch, takeChunkRefs } from '../src/protocol/messages.js'
import { ingestPulledBatch, insertEntries, insertEntriesNoTx, knownChunks } from '../src/store/entries.js'
import { recordImportBatch } from '../src/store/imports.js'
import { workerDb } from './db-cache.js'
import { verifyAll, verifyElsewhere } from './verify-parallel.js'
import type { IngestEntriesResult, IngestEntriesTask, IngestPulledResult, IngestPulledTask, IngestPushResult, IngestPushTask } from './tasks.js'

/** A received message's entries as validateBatch sees them, and (3.0.0) its chunks and each entry's chunk reference. */
interface Received {
  entries: unknown[]
  /** As received (4.0.0: with runs); after rebuild, each chunk with its whole manifest. */
  chunks: ChunkWithRuns[]
  refs: Array<number | undefined>
  /** 4.0.0: the place in its chunk's manifest of each entry a run covers (by place in `entries`). */
  places: Array<number | undefined>
  /** The message's JSON text, as received: relayed entries are hashed from it (receivedDigests). */
  json: Uint8Array
}

/**
 * On 3.0.0 and 4.0.0 the chunks are parsed and each entry's `k` (or, 4.0.0, the run covering it) taken off it
 * (before validation); elsewhere both are ignored.
 */
function received (message: { entries: unknown[], chunks?: unknown }, json: Uint8Array, wire: WireVersion, what: string): Received {
  if (wire < 3) return { entries: message.entries, chunks: [], refs: [], places: [], json }
  const chunks = parseChunks(message.chunks, what, wire)
  const places: Array<number | undefined> = []
  return { chunks, refs: takeChunkRefs(message.entries, chunks, places, what), places, entries: message.entries, json }
}

/**
 * 4.0.0: true when a chunk of the message has runs. A message without (a device's own entries, each by `k` under its
 * whole manifest) is taken as on 3.0.0: nothing to rebuild, and only relayed entries are hashed.
 */
function hasRuns (message: Received): boolean {
  return message.chunks.some((c) => c.runs != null)
}

/** 4.0.0: the message's manifests made whole (rebuildChunks), and the digests that took. */
interface Rebuilt {
  digests: EntryDigests
  unbuilt: Map<number, string>
  /** By place: the chunk came with runs (its manifest is the one rebuilt here, not one its origin sent whole). */
  withRuns: boolean[]
}

/**
 * 4.0.0, after validation, when the message has chunks: every entry a run covers is hashed (first-hand too: its hash is part of the manifest), and
 * every relayed entry named by `k` (checked against its manifest, as on 3.0.0), in one pass from the message's text;
 * then each chunk with runs gets its whole manifest back, in `message.chunks`, ready to be checked and stored.
 */
function rebuild (message: Received, valid: Entry[], indexes: number[], peerId: string | undefined): Rebuilt {
  const originOf = (i: number): string | undefined => {
    const m = indexes[i]!
    const k = message.refs[m]
    if (k === undefined || k < 0) return undefined
    const origin = message.chunks[k]!.origin
    return message.places[m] !== undefined || origin !== peerId ? origin : undefined
  }
  const digests = receivedDigests({ json: message.json, raw: message.entries, indexes }, valid, originOf)
  const validOf = new Int32Array(message.entries.length).fill(-1)
  indexes.forEach((m, i) => { if (digests.hashed[i] === 1) validOf[m] = i })
  const withRuns = message.chunks.map((c) => c.runs != null)
  const { chunks, unbuilt } = rebuildChunks(message.chunks, digests.digests, (m) => validOf[m]!)
  message.chunks = chunks
  return { digests, unbuilt, withRuns }
}

/** Which of a message's chunk manifests hold (by place in its `chunks`): known here, or checked. */
interface ManifestChecks {
  known: boolean[]
  /** The verdicts of those checked, once the helper is done; by place, undefined for one not checked. */
  checked: Promise<Array<boolean | undefined>>
}

/**
 * Below this many manifests to check in one message, admitReceived checks them on this thread. A check is about
 * 0.1 ms, and a page of 1000 entries signed in manifests of 256 names 4 or 5; starting the helper thread cost a
 * process about 80 ms of CPU, and the first page as long in waiting (measured: 70-96 ms, against 1-2 ms for one check
 * here). Many small manifests in one page (a history signed a few entries at a time, before growing manifests, or a
 * peer that sends them so) still go to the helper.
 */
const minManifestsForHelper = 32

/**
 * 3.0.0 and 4.0.0: when the message holds relayed entries (named by a chunk whose origin is not the connection's
 * peer, or rebuilt from runs) and names at least minManifestsForHelper such manifests this database does not hold
 * with the very same origin, signature and hashes, starts checking their signatures on a helper thread
 * (workers/verify-parallel.ts), while this thread validates and hashes the entries. Named by any item, valid or
 * not: at most one check per item; a chunk nothing names is never checked. Otherwise there is nothing worth
 * overlapping: admitReceived checks the manifests on this thread, and no helper thread is started for them (in a
 * whole `rr p2p-sync`, starting one cost more than it saved).
 */
function checkManifests (dbPath: string, message: Received, peerId: string | undefined, rebuilt?: Rebuilt): ManifestChecks {
  const known = knownChunks(workerDb(dbPath), message.chunks)
  const named = new Set<number>()
  let relayed = false
  for (const k of message.refs) {
    if (k === undefined || k < 0) continue
    if (firstHand(message, k, peerId, rebuilt)) continue
    if (known[k] !== true) named.add(k)
    relayed = true
  }
  if (!relayed || named.size < minManifestsForHelper) return { known, checked: Promise.resolve([]) }
  const toCheck = [...named].flatMap((k) => {
    const input = chunkVerificationInput(message.chunks[k]!)
    return input != null ? [{ k, input }] : []
  })
  if (toCheck.length === 0) return { known, checked: Promise.resolve([]) }
  const checked = verifyElsewhere(toCheck.map((x) => x.input)).then((verdicts) => {
    const byPlace: Array<boolean | undefined> = []
    toCheck.forEach((x, j) => { byPlace[x.k] = verdicts[j] === true })
    return byPlace
  })
  return { known, checked }
}

/**
 * A manifest sent whole by its own origin, over the connection that origin's key authenticated: taken unchecked, as
 * that peer's own signed entries are (AdmitOptions.authenticatedPeer): it proves as much as the signature, and the
 * next hop checks the signature. A bad one only makes the next hop refuse that origin's own entries (docs/TRUST.md).
 * Not a manifest rebuilt here from runs: what is stored then is this device's reading of the entries, so its
 * signature is what vouches for them.
 */
function firstHand (message: Received, k: number, peerId: string | undefined, rebuilt: Rebuilt | undefined): boolean {
  return peerId != null && message.chunks[k]?.origin === peerId && rebuilt?.withRuns[k] !== true
}

/**
 * admitReceived with the batch's signatures checked first, on several threads (workers/verify-parallel.ts): the
 * same entries need a check as admitReceived would check itself (2.0.0 or 3.0.0, signed, not by the connection's
 * own peer). On 3.0.0, with relayed entries (their chunk's origin is not that peer), the manifests were set checking
 * before validation (checkManifests), and the relayed entries are hashed here to find in them (chunkDigests).
 * admitReceived then checks each entry's hash against its manifest, and any manifest neither known, nor passed by
 * the helper here, nor sent whole by its own origin (firstHand).
 */
async function admit (valid: Entry[], indexes: number[], wire: WireVersion, message: Received, manifests: ManifestChecks | undefined, peerId?: string, rebuilt?: Rebuilt): Promise<Admitted> {
  const verdicts = wire !== 1 ? await verifyAll(valid, (e) => e.sig != null && e.origin !== peerId) : []
  // Every function in the literal, none added after: a closure stored in a property added to an object after its
  // creation kept the whole page alive through two scavenges on V8 (promoted, then freed by a mark-compact): ~70 MB
  // per 200k relayed entries, and 3 times the ingest worker's GC time (measured; docs/PROTOCOL.md, session 19).
  const options: AdmitOptions = {
    wire,
    now: Date.now(),
    ...(peerId != null ? { authenticatedPeer: peerId } : {}),
    ...(rebuilt != null ? { digests: rebuilt.digests } : {}),
    verify: (_e, i) => verdicts[i] === true,
    chunks: message.chunks,
    chunkRef: (i) => message.refs[indexes[i]!],
    // Without runs (before 4.0.0, or none in the message) there are no places, and nothing was rebuilt.
    chunkPlace: (i) => message.places[indexes[i]!],
    unbuilt: (k) => rebuilt?.unbuilt.get(k),
    received: { json: message.json, raw: message.entries, indexes }
  }
  if (wire < 3 || manifests == null) return admitReceived(valid, options, indexes)
  for (let i = 0; i < valid.length && options.digests == null; i++) {
    const k = options.chunkRef!(i)
    if (k !== undefined && k >= 0 && message.chunks[k]?.origin !== peerId) {
      options.digests = chunkDigests(valid, options)
      break
    }
  }
  const passed = await manifests.checked
  return admitReceived(valid, { ...options, chunkKnown: (k) => manifests.known[k] === true || passed[k] === true || firstHand(message, k, peerId, rebuilt) }, indexes)
}

export async function ingestPulled (task: IngestPulledTask): Promise<IngestPulledResult> {
  const parsed = parseSyncBatch(decodeJson(task.payload, 'SyncBatch'))
  const batch = { ...parsed, ...received(parsed, task.payload, task.wire, 'SyncBatch') }
  const runs = hasRuns(batch)
  let manifests = task.wire >= 3 && !runs && batch.next_cursor != null ? checkManifests(task.dbPath, batch, task.peerId) : undefined
  if (task.parsed != null) {
    task.parsed.postMessage({ received: batch.entries.length, nextCursor: batch.next_cursor })
    task.parsed.close()
  }
  const { valid, indexes, rejected } = validateBatch(batch.entries)
  if (batch.next_cursor == null) return { received: 0, inserted: 0, ignored: 0, clamped: 0, rejected, nextCursor: null }
  // 4.0.0 with runs: the manifests are whole only once the entries are hashed, so they are checked after validation.
  const rebuilt = runs ? rebuild(batch, valid, indexes, task.peerId) : undefined
  if (rebuilt != null) manifests = checkManifests(task.dbPath, batch, task.peerId, rebuilt)
  const admitted = await admit(valid, indexes, task.wire, batch, manifests, task.peerId, rebuilt)
  const result = ingestPulledBatch(workerDb(task.dbPath), task.peerId, admitted.entries, batch.next_cursor, batch.chunks)
  return { received: batch.entries.length, ...result, clamped: admitted.clamped, rejected: [...rejected, ...admitted.rejected], nextCursor: batch.next_cursor }
}

export async function ingestPush (task: IngestPushTask): Promise<IngestPushResult> {
  const wire = task.wire ?? 1
  let message: Received
  try {
    message = received(parseEntriesPush(decodeJson(task.payload, 'EntriesPush')), task.payload, wire, 'EntriesPush')
  } catch (err) {
    return { ok: false, inserted: 0, ignored: 0, rejected: [], error: (err as Error).message }
  }
  const runs = hasRuns(message)
  let manifests = wire >= 3 && !runs ? checkManifests(task.dbPath, message, task.peerId) : undefined
  const { valid, indexes, rejected } = validateBatch(message.entries)
  const rebuilt = runs ? rebuild(message, valid, indexes, task.peerId) : undefined
  if (rebuilt != null) manifests = checkManifests(task.dbPath, message, task.peerId, rebuilt)
  const admitted = await admit(valid, indexes, wire, message, manifests, task.peerId, rebuilt)
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
