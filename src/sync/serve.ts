/**
 * The serving side of pull and push, once, behind both transports: the libp2p handlers (src/p2p/handlers.ts, for
 * the 1.0.0, 2.0.0 and 3.0.0 protocols) and the HTTP debug server (src/http/server.ts) only read the request their way
 * and turn these answers into their own replies (an error document, an HTTP status). The database work runs in
 * the worker pool; the request bytes move there (ownedBuffer), never shared with a socket.
 */
import type { WireVersion } from '../core/admit.js'
import type { EntrySigner } from '../core/signature.js'
import { maxPullLimit, maxPullResponseBytes } from '../protocol/constants.js'
import { ownedBuffer } from '../protocol/framing.js'
import { encodePushAck, type SyncPull } from '../protocol/messages.js'
import type { WorkerPool } from '../../workers/pool.js'
import type { IngestPushResult } from '../../workers/tasks.js'

export interface ServeComponents {
  /** The local database served from and pushed into. */
  dbPath: string
  /** Runs export-batch and ingest-push off the network loop. Owned by the caller. */
  pool: WorkerPool
  /** This device's identity key: its own entries are signed (lazily) before they are served. @default unsigned */
  signer?: EntrySigner
}

export type PullAnswer =
  /** A SyncBatch, as the wire carries it. */
  | { kind: 'batch', payload: Uint8Array }
  /** The entry after the cursor alone is over the pull response cap: no batch can carry it. */
  | { kind: 'entry-too-large', entryId: string, bytes: number, capBytes: number }

/** Answers a SyncPull (already parsed) with the page after its cursor, in the form of protocol `wire`. */
/** A page of entries after the cursor, at most maxBytes long (the response cap, or less on a busy server). */
export async function servePull (c: ServeComponents, request: SyncPull, wire: WireVersion, maxBytes = maxPullResponseBytes): Promise<PullAnswer> {
  const page = await c.pool.run({
    tag: 'export-batch',
    dbPath: c.dbPath,
    cursor: request.cursor,
    limit: Math.min(request.limit, maxPullLimit),
    maxBytes,
    wire,
    ...(c.signer != null ? { signer: c.signer } : {})
  })
  if (page.count === 0 && page.tooLarge != null) {
    return { kind: 'entry-too-large', entryId: page.tooLarge.entry_id, bytes: page.tooLarge.bytes, capBytes: maxBytes }
  }
  return { kind: 'batch', payload: page.payload }
}

export interface PushFrom {
  /** The protocol it came over (signatures are checked on 2 and 3, chunks on 3). */
  wire: WireVersion
  /** The pusher's PeerId as its connection authenticated it; none over HTTP. */
  peerId?: string
}

export interface PushAnswer {
  /** The PushAck, encoded to fit its cap. */
  ack: Uint8Array
  /** What the worker did: inserted, ignored, rejected (with reasons), clamped. */
  result: IngestPushResult
  /** Set when the body is not an EntriesPush at all: the pusher's fault, nothing was stored. */
  malformed?: string
}

/** Stores an EntriesPush (the request body as received; it moves to the worker) and answers its PushAck. */
export async function servePush (c: ServeComponents, body: Uint8Array, from: PushFrom): Promise<PushAnswer> {
  const owned = ownedBuffer(body)
  const result = await c.pool.run({ tag: 'ingest-push', dbPath: c.dbPath, payload: owned, wire: from.wire, ...(from.peerId != null ? { peerId: from.peerId } : {}) }, [owned.buffer as ArrayBuffer])
  return { ack: encodePushAck(result), result, ...(result.error != null ? { malformed: result.error } : {}) }
}
