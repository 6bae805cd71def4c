/**
 * Where peers come from when no --peers are given: every tracker (filtered by user_id), cached in peer_book;
 * when the trackers are down or know nobody, the peers seen in the last 7 days from peer_book (same user only).
 * Says which peers it still knows (a tracker's answer, or the peer book's window), so the supervisor lets the others
 * go. Also refreshes one peer's addresses before each round from the newest answer.
 */
import type { Database } from 'better-sqlite3'
import type { DiscoveredPeers } from '../src/sync/types.js'
import type { PeerTarget } from '../src/sync/types.js'
import { errorMessage } from '../src/protocol/errors.js'
import { prunePeerBook, recentPeers, upsertPeerBook, type PeerBookEntry } from '../src/store/peers.js'
import { targetsFromPeers } from '../src/sync/targets.js'
import { listPeers } from '../src/tracker/index.js'
import { daySec } from '../src/core/units.js'

export interface DiscoveryInit {
  trackers: string[]
  token?: string
  /** Only this user's peers (from the tracker and the peer book). */
  userId?: string
  /** Our own PeerIds (the local p2p-serve identity): never a sync target. */
  self: ReadonlySet<string>
  relayAddr?: string
  db: Database
  log: (line: string) => void
  /** How long a peer-book row stays usable. @default 7 days */
  peerBookMaxAgeSec?: number
}

export interface Discovery {
  discoverPeers: (signal: AbortSignal) => Promise<DiscoveredPeers>
  refresh: (target: PeerTarget, signal: AbortSignal) => Promise<PeerTarget>
}

export function createDiscovery (init: DiscoveryInit): Discovery {
  const latest = new Map<string, PeerTarget>()
  const maxAge = init.peerBookMaxAgeSec ?? 7 * daySec

  async function discoverPeers (signal: AbortSignal): Promise<DiscoveredPeers> {
    const now = Math.floor(Date.now() / 1000)
    const answered: PeerBookEntry[] = []
    let trackersAnswered = 0
    for (const url of init.trackers) {
      try {
        const peers = await listPeers(url, {
          signal,
          ...(init.token != null ? { token: init.token } : {}),
          ...(init.userId != null ? { userId: init.userId } : {}),
          onDropped: ({ count, reason }) => init.log(`tracker: ${url}: dropped ${count} peer record(s) or address set(s): ${reason}`),
          onRetry: ({ attempt, delayMs, reason }) => init.log(`tracker: ${url} attempt ${attempt} failed (${reason}); retrying in ${delayMs} ms`)
        })
        trackersAnswered++
        init.log(`tracker: ${url} knows ${peers.length} peer(s)`)
        for (const p of peers) {
          answered.push({ peer_id: p.peer_id, addrs: p.addrs, user_id: p.meta.user_id, device_id: p.meta.device_id, hostname: p.meta.hostname, last_seen_unix: Math.min(p.last_seen_unix, now) })
        }
      } catch (err) {
        init.log(`tracker: ${url} failed: ${errorMessage(err)}`)
      }
    }
    const others = answered.filter((p) => !init.self.has(p.peer_id))
    let source: PeerTarget['source'] = 'tracker'
    let peers: PeerBookEntry[] = others
    const known = new Set(others.map((p) => p.peer_id))
    if (others.length > 0) {
      upsertPeerBook(init.db, others)
      // A peer the trackers no longer list is still known while the peer book's window holds it.
      for (const p of recentPeers(init.db, now - maxAge, init.userId)) known.add(p.peer_id)
    } else {
      prunePeerBook(init.db, now - maxAge)
      peers = recentPeers(init.db, now - maxAge, init.userId).filter((p) => !init.self.has(p.peer_id))
      source = 'peer_book'
      const why = trackersAnswered === 0 ? (init.trackers.length === 0 ? 'no trackers configured' : 'no tracker answered') : 'the trackers know no other peer'
      init.log(`discovery: ${why}; using ${peers.length} peer(s) seen in the last ${Math.round(maxAge / daySec)} days from the peer book`)
    }
    const targets = targetsFromPeers(peers, source, init.self, init.relayAddr)
    for (const t of targets) latest.set(t.key, t)
    for (const p of peers) known.add(p.peer_id)
    for (const key of latest.keys()) if (!known.has(key)) latest.delete(key)
    return { targets, known }
  }

  return {
    discoverPeers,
    refresh: async (target) => latest.get(target.key) ?? target
  }
}
