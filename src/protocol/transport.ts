/**
 * The transport interface the sync engine talks to. Two implementations: libp2p streams (src/p2p) and the HTTP
 * debug transport (src/http). Payloads stay raw bytes so JSON parsing happens in a worker, off the network loop.
 */
import type { WireVersion } from '../core/admit.js'
import type { PushAck, SyncPull } from './messages.js'
import type { TombstoneAck } from './tombstones.js'

/** How a connection reached the peer. */
export type DialPath = 'direct' | 'relay' | 'dcutr' | 'http'

export interface SyncTransport {
  /** The remote's stable id: its PeerId for libp2p, the base URL for HTTP. The key of peer_state. */
  readonly peerId: string
  /** The address actually used (multiaddr or URL), for logs. */
  readonly remoteAddr: string
  /** How we reached it; may change (relay → dcutr) while the transport lives. */
  readonly path: DialPath
  /**
   * The sync protocol version the last exchange ran on: 2 means entries carry signatures that are checked;
   * 1 (or undefined: the HTTP transport) means every received entry is stored unverified.
   */
  readonly wire?: WireVersion | undefined
  /**
   * Sends SyncPull and returns the SyncBatch document as received, at most maxPullResponseBytes.
   * Throws MessageTooLargeError past the cap, ProtocolError when the peer answers an error document.
   */
  pull: (request: SyncPull, signal?: AbortSignal) => Promise<Uint8Array>
  /** Sends an EntriesPush document (already serialized) and returns the decoded PushAck. */
  push: (payload: Uint8Array, signal?: AbortSignal) => Promise<PushAck>
  /**
   * Tombstones (docs/PROTOCOL.md): a TombstonePull answered by the raw TombstoneBatch, and a serialized
   * TombstonePush answered by its ack. Absent on a transport that has none; a peer that does not serve them throws
   * UnsupportedProtocolError, and the sync skips tombstones for it.
   */
  pullTombstones?: (request: SyncPull, signal?: AbortSignal) => Promise<Uint8Array>
  pushTombstones?: (payload: Uint8Array, signal?: AbortSignal) => Promise<TombstoneAck>
  /** Releases the connection (idempotent). */
  close: () => Promise<void>
}
