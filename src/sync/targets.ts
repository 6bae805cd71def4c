/**
 * Turning tracker answers and peer-book rows into dial targets. Pure: string work on multiaddrs, no libp2p.
 */
import type { PeerTarget } from './types.js'

export interface KnownPeer {
  peer_id: string
  addrs: string[]
  device_id?: string | null
  hostname?: string | null
}

/** Addresses nobody can dial: the unspecified ones a listener binds to. */
function undialable (addr: string): boolean {
  return /^\/ip4\/0\.0\.0\.0\//.test(addr) || /^\/ip6\/::\//.test(addr)
}

/**
 * A target from a peer's advertised addresses: direct ones (each ending in /p2p/<peer_id>) and, from a
 * `<relay>/p2p-circuit/p2p/<peer>` address, the relay to fall back to. `fallbackRelay` is used when the peer
 * advertises none. Returns undefined for a peer with nothing to dial.
 */
export function targetFromPeer (peer: KnownPeer, source: PeerTarget['source'], fallbackRelay?: string): PeerTarget | undefined {
  const direct: string[] = []
  let relay: string | undefined
  for (const raw of peer.addrs) {
    const addr = raw.trim()
    if (!addr.startsWith('/') || undialable(addr)) continue
    const circuit = addr.indexOf('/p2p-circuit')
    if (circuit !== -1) {
      const relayPart = addr.slice(0, circuit)
      if (/\/p2p\/[^/]+$/.test(relayPart)) relay ??= relayPart
      continue
    }
    const suffix = `/p2p/${peer.peer_id}`
    const full = addr.endsWith(suffix) ? addr : /\/p2p\/[^/]+$/.test(addr) ? undefined : `${addr}${suffix}`
    if (full != null && !direct.includes(full)) direct.push(full)
  }
  const relayAddr = relay ?? fallbackRelay
  if (direct.length === 0 && relayAddr == null) return undefined
  return {
    key: peer.peer_id,
    peerId: peer.peer_id,
    addrs: direct,
    source,
    ...(relayAddr != null ? { relayAddr } : {}),
    ...(peer.device_id != null ? { device_id: peer.device_id } : {}),
    ...(peer.hostname != null ? { hostname: peer.hostname } : {})
  }
}

/** Targets for a set of peers, skipping ourselves and duplicates (first occurrence wins). */
export function targetsFromPeers (peers: readonly KnownPeer[], source: PeerTarget['source'], self: ReadonlySet<string>, fallbackRelay?: string): PeerTarget[] {
  const seen = new Set<string>()
  const targets: PeerTarget[] = []
  for (const peer of peers) {
    if (self.has(peer.peer_id) || seen.has(peer.peer_id)) continue
    seen.add(peer.peer_id)
    const target = targetFromPeer(peer, source, fallbackRelay)
    if (target != null) targets.push(target)
  }
  return targets
}

/**
 * Targets for `--peers` multiaddrs: one per PeerId, in first-seen order, with every address given for it (tried in
 * order) and the `--relay` to fall back to. `peerIdOf` reads the /p2p/ part (src/p2p's, which throws a permanent
 * DialError for an address without one).
 */
export function targetsFromMultiaddrs (addrs: readonly string[], peerIdOf: (addr: string) => string, relayAddr?: string): PeerTarget[] {
  const byPeer = new Map<string, PeerTarget>()
  for (const addr of addrs) {
    const peerId = peerIdOf(addr)
    const target = byPeer.get(peerId) ?? { key: peerId, peerId, addrs: [], source: 'peers' as const, ...(relayAddr != null ? { relayAddr } : {}) }
    target.addrs.push(addr)
    byPeer.set(peerId, target)
  }
  return [...byPeer.values()]
}
