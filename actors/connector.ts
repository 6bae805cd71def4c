/**
 * How the peer actors reach a peer: one implementation per transport (libp2p, HTTP). The peer machine sees only
 * Links; this is where addresses become connections.
 */
import type { Link, PeerTarget } from '../src/sync/types.js'
import type { PeerSyncEvent } from '../machines/peer-sync.machine.js'

export interface Connector {
  /** Dials one direct address. Throws SyncError subclasses (permanent ones stop the retries). */
  dialDirect: (target: PeerTarget, addr: string, signal: AbortSignal) => Promise<Link>
  /** Dials through the relay: `<relay>/p2p-circuit/p2p/<peer>`. */
  dialRelay: (target: PeerTarget, signal: AbortSignal) => Promise<Link>
  /** Watches a relayed link for a DCUtR upgrade; sends dcutr.upgraded / dcutr.failed. */
  watchUpgrade: (target: PeerTarget, link: Link, sendBack: (event: PeerSyncEvent) => void) => () => void
  /** Refreshes a peer's addresses before a round (tracker lookups); identity by default. */
  refresh?: (target: PeerTarget, signal: AbortSignal) => Promise<PeerTarget>
}
