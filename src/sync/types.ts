/** Types shared by the machines and the actors that bind them. Types only: no I/O values. */
import type { DialPath, SyncTransport } from '../protocol/transport.js'

/** What we know of a peer before dialing it. */
export interface PeerTarget {
  /** A stable label: the PeerId when known, else the address given by the user. */
  key: string
  /** The remote PeerId, when known (from /p2p/ in a multiaddr, a tracker or the peer book). */
  peerId?: string
  /** Direct candidate addresses (multiaddrs or URLs), tried in order. */
  addrs: string[]
  /** A relay multiaddr to fall back to. */
  relayAddr?: string
  /** Where the target came from. */
  source: 'peers' | 'tracker' | 'peer_book' | 'url'
  device_id?: string
  hostname?: string
}

/** A live connection the sync loops run on. */
export interface Link {
  transport: SyncTransport
  path: DialPath
  /** The address dialed. */
  addr: string
  connectionId: string
}

/** An expected failure, kept as data in context (never a rejection that escapes). */
export interface SyncFailure {
  name: string
  message: string
  /** Retrying cannot help. */
  permanent: boolean
  /** Which step failed. */
  step: 'discover' | 'direct' | 'relay' | 'pull' | 'push' | 'dcutr'
}

export interface SyncOptions {
  /** Push this device's own entries after pulling. @default false */
  push: boolean
  /** Repeat every interval until stopped. @default false */
  watch: boolean
  /** Seconds between --watch rounds. @default 60 */
  intervalSec: number
  /** Entries per SyncPull / EntriesPush. @default 1000 */
  limit: number
}

export interface PeerStats {
  pulled: number
  inserted: number
  pushed: number
  rounds: number
  /** Milliseconds the last round took. */
  lastRoundMs: number
}

/** What one round moved. */
export interface RoundStats {
  pulled: number
  inserted: number
  pushed: number
}

export interface PeerOutcome {
  key: string
  peerId?: string
  ok: boolean
  /** Totals over every round this process ran. */
  stats: PeerStats
  /** The round that just finished. */
  round: RoundStats
  path?: DialPath
  addr?: string
  error?: SyncFailure
}

export function toFailure (error: unknown, step: SyncFailure['step']): SyncFailure {
  if (error != null && typeof error === 'object') {
    const e = error as { name?: unknown, message?: unknown, permanent?: unknown }
    return {
      name: typeof e.name === 'string' ? e.name : 'Error',
      message: typeof e.message === 'string' ? e.message : String(error),
      permanent: e.permanent === true,
      step
    }
  }
  return { name: 'Error', message: String(error), permanent: false, step }
}

/** What one discovery found. */
export interface DiscoveredPeers {
  /** The peers to sync with now. */
  targets: PeerTarget[]
  /**
   * Every peer discovery still knows: in a tracker's answer, or in the peer book within its window. A supervised
   * peer outside it (and outside `targets`) is stopped. Omitted when discovery cannot tell (a fixed --peers list).
   */
  known?: ReadonlySet<string>
}
