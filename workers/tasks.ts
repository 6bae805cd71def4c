/** The tasks the worker entry understands, one tag each. Only plain data and transferred buffers cross. */
import type { MessagePort } from 'node:worker_threads'
import type { WireVersion } from '../src/core/admit.js'
import type { Entry } from '../src/core/entry.js'
import type { EntrySigner } from '../src/core/signature.js'

/** Parse, validate and store a pulled SyncBatch, advancing peer_state in the same transaction. */
export interface IngestPulledTask {
  tag: 'ingest-pulled'
  dbPath: string
  peerId: string
  /** The SyncBatch JSON as received. */
  payload: Uint8Array
  /** The protocol it came over: signatures (and on 3, chunks) are checked on 2 and 3, dropped on 1 (all unverified). */
  wire: WireVersion
  /**
   * Told the batch's shape (a ParsedBatch: entry count and next_cursor) as soon as it is parsed, before validation
   * and the insert, so the pull loop can request the next batch meanwhile. Closed by the worker after that.
   */
  parsed?: MessagePort
}
export interface IngestPulledResult {
  received: number
  inserted: number
  ignored: number
  /** Unverified rows a signed copy took the place of. */
  replaced?: number
  /** Entries stamped more than a day ahead, stored at the receive time. */
  clamped: number
  rejected: Array<{ index: number, entry_id?: string, reason: string }>
  nextCursor: number | null
}

/** Parse, validate and store an EntriesPush (the serving side of push); answers a PushAck. */
export interface IngestPushTask {
  tag: 'ingest-push'
  dbPath: string
  payload: Uint8Array
  /** The pushing peer's PeerId, as its connection authenticated it (see admitReceived). */
  peerId?: string
  /** The protocol it came over (see IngestPulledTask.wire). @default 1 (the HTTP debug transport) */
  wire?: WireVersion
}
export interface IngestPushResult {
  ok: boolean
  inserted: number
  ignored: number
  replaced?: number
  clamped?: number
  rejected: Array<{ index: number, entry_id?: string, reason: string }>
  error?: string
}

/** Store already-validated entries (import). */
export interface IngestEntriesTask {
  tag: 'ingest-entries'
  dbPath: string
  entries: Entry[]
  /** The import batch these belong to: the inserted ones are listed under it (`rr delete --import`). */
  batch?: ImportBatchInfo
}
export interface ImportBatchInfo {
  id: string
  shell: string
  path: string
  createdAt: string
  /** Entries of this task that had no timestamp in the file. */
  untimed: string[]
}
export interface IngestEntriesResult {
  inserted: number
  ignored: number
}

/** Serialize a SyncBatch page (the serving side of pull), trimmed to fit maxBytes. */
export interface ExportBatchTask {
  tag: 'export-batch'
  dbPath: string
  cursor: number
  limit: number
  maxBytes: number
  /** 3: entries name their chunk (`k`), chunks ride along; 2: entries carry origin and sig when signed; 1: exactly the 1.0.0 fields. @default 1 */
  wire?: WireVersion
  /** This device's key: its unsigned entries are signed before the page is read. */
  signer?: EntrySigner
}
export interface ExportBatchResult {
  /** The SyncBatch JSON. */
  payload: Uint8Array
  count: number
  /** Set when even one entry does not fit maxBytes. */
  tooLarge?: { entry_id: string, bytes: number }
}

/** Sign this device's unsigned entries ahead of any pull (src/p2p/sign-ahead.ts), chunkRows per transaction. */
export interface SignPendingTask {
  tag: 'sign-pending'
  dbPath: string
  signer: EntrySigner
  chunkRows: number
  /** Rows up to this ingest_seq were looked at by an earlier task (its result's `placedUpTo`). @default 0 */
  placedUpTo?: number
}
export interface SignPendingResult {
  signed: number
  /** Rows linked to a chunk given their place in it (placeChunkRows). */
  placed: number
  /** The ingest_seq up to which every row has been looked at for a place (the next task's `placedUpTo`). */
  placedUpTo: number
}

/** Own-device entries for a push, serialized as an EntriesPush. */
export interface ExportPushTask {
  tag: 'export-push'
  dbPath: string
  deviceId: string
  afterSeq: number
  limit: number
  maxBytes: number
  /** This device's key: unsigned entries are signed first, and entries signed by other keys are never pushed. */
  signer?: EntrySigner
  /** The connection's protocol version when known: 3 or 4 pushes in that form, anything else in the 2.0.0 form. */
  wire?: WireVersion
}
export interface ExportPushResult {
  payload: Uint8Array
  count: number
  lastSeq: number
  tooLarge?: { entry_id: string, bytes: number }
}

/** Serialize a TombstoneBatch page (the serving side of tombstone-pull), trimmed to fit maxBytes. */
export interface ExportTombstonesTask {
  tag: 'export-tombstones'
  dbPath: string
  cursor: number
  limit: number
  maxBytes: number
  /** Serialize as a TombstonePush (no next_cursor) for the pushing side. @default false */
  asPush?: boolean
}
export interface ExportTombstonesResult {
  payload: Uint8Array
  count: number
  lastSeq: number
}

/** Parse, validate and apply a pulled TombstoneBatch, advancing tombstone_peer_state in the same transaction. */
export interface IngestTombstonesPulledTask {
  tag: 'ingest-tombstones-pulled'
  dbPath: string
  peerId: string
  payload: Uint8Array
}
export interface IngestTombstonesPulledResult {
  received: number
  added: number
  deleted: number
  rejected: Array<{ index: number, entry_id?: string, reason: string }>
  nextCursor: number | null
}

/** Parse, validate and apply a TombstonePush (the serving side of tombstone-push). */
export interface IngestTombstonesPushTask {
  tag: 'ingest-tombstones-push'
  dbPath: string
  payload: Uint8Array
}
export interface IngestTombstonesPushResult {
  ok: boolean
  added: number
  ignored: number
  deleted: number
  rejected: Array<{ index: number, entry_id?: string, reason: string }>
  error?: string
}

export type Task = IngestPulledTask | IngestPushTask | IngestEntriesTask | ExportBatchTask | ExportPushTask | SignPendingTask |
  ExportTombstonesTask | IngestTombstonesPulledTask | IngestTombstonesPushTask

export type TaskResult<T extends Task> =
  T extends IngestPulledTask ? IngestPulledResult
    : T extends IngestPushTask ? IngestPushResult
      : T extends IngestEntriesTask ? IngestEntriesResult
        : T extends ExportBatchTask ? ExportBatchResult
          : T extends ExportPushTask ? ExportPushResult
            : T extends ExportTombstonesTask ? ExportTombstonesResult
              : T extends IngestTombstonesPulledTask ? IngestTombstonesPulledResult
                : T extends IngestTombstonesPushTask ? IngestTombstonesPushResult
                  : T extends SignPendingTask ? SignPendingResult
                    : never

/** An error as it crosses from a worker to the main thread (see toWorkerFailure / fromWorkerFailure). */
export interface WorkerFailure {
  rustoryWorkerFailure: true
  name: string
  message: string
  code?: string
  permanent?: boolean
}

export function toWorkerFailure (err: unknown): WorkerFailure {
  const e = (err != null && typeof err === 'object' ? err : {}) as { name?: unknown, message?: unknown, code?: unknown, permanent?: unknown }
  return {
    rustoryWorkerFailure: true,
    name: typeof e.name === 'string' ? e.name : 'Error',
    message: typeof e.message === 'string' ? e.message : String(err),
    ...(typeof e.code === 'string' ? { code: e.code } : {}),
    ...(typeof e.permanent === 'boolean' ? { permanent: e.permanent } : {})
  }
}

/** Rebuilds the Error a worker threw (name, message, code and the sync `permanent` flag survive). */
export function fromWorkerFailure (value: unknown): unknown {
  if (value == null || typeof value !== 'object' || (value as Partial<WorkerFailure>).rustoryWorkerFailure !== true) return value
  const f = value as WorkerFailure
  const err = new Error(f.message) as Error & { code?: string, permanent?: boolean }
  err.name = f.name
  if (f.code != null) err.code = f.code
  if (f.permanent != null) err.permanent = f.permanent
  return err
}
