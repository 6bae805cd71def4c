/**
 * The tracker's memory: one registration per PeerId, expiring `ttl` after its last register call, bounded in
 * count. Pure apart from the injected clock.
 */
import type { PeerRecord, RegisterRequest } from './types.js'

const second = 1000

export interface PeerRegistryInit {
  /** How long a registration lives after its last register call. */
  ttlMs: number
  /** Registrations kept at most; a new PeerId beyond it is refused until some expire. @default 10000 */
  maxPeers?: number
  /** Total size of the stored registrations (their strings), so memory stays bounded. @default 32 MiB */
  maxBytes?: number
  /** @default Date.now */
  now?: () => number
}

export type RegisterOutcome = { kind: 'new' | 'renewed' } | { kind: 'full', maxPeers: number }

interface Registration {
  request: RegisterRequest
  lastSeenMs: number
  bytes: number
}

/** Approximate memory of a registration: its strings, plus a fixed overhead per record and per address. */
export function registrationBytes (request: RegisterRequest): number {
  const { meta } = request
  let bytes = 256 + request.peer_id.length + meta.device_id.length + meta.hostname.length + meta.user_id.length + meta.version.length
  for (const a of request.addrs) bytes += 32 + a.length
  return bytes
}

export class PeerRegistry {
  readonly #peers = new Map<string, Registration>()
  readonly #ttlMs: number
  readonly #maxPeers: number
  readonly #maxBytes: number
  readonly #now: () => number
  #bytes = 0

  constructor (init: PeerRegistryInit) {
    this.#ttlMs = init.ttlMs
    this.#maxPeers = init.maxPeers ?? 10_000
    this.#maxBytes = init.maxBytes ?? 32 * 1024 * 1024
    this.#now = init.now ?? Date.now
  }

  /** Adds or renews a registration. When full, expired ones are swept first; still full → refused. */
  register (request: RegisterRequest): RegisterOutcome {
    const now = this.#now()
    const bytes = registrationBytes(request)
    const fits = (): boolean => {
      const known = this.#peers.get(request.peer_id)
      if (known == null && this.#peers.size >= this.#maxPeers) return false
      return this.#bytes - (known?.bytes ?? 0) + bytes <= this.#maxBytes
    }
    if (!fits()) {
      this.sweep()
      if (!fits()) return { kind: 'full', maxPeers: this.#maxPeers }
    }
    const known = this.#peers.get(request.peer_id)
    // Delete first so Map order stays "least recently registered first" (sweep can stop early).
    this.#remove(request.peer_id)
    this.#peers.set(request.peer_id, { request, lastSeenMs: now, bytes })
    this.#bytes += bytes
    return { kind: known != null && !this.#expired(known, now) ? 'renewed' : 'new' }
  }

  /** Unexpired registrations, optionally only one user's, most recently seen first. */
  list (userId?: string): PeerRecord[] {
    const now = this.#now()
    const out: PeerRecord[] = []
    for (const { request, lastSeenMs } of this.#peers.values()) {
      if (now - lastSeenMs >= this.#ttlMs) continue
      if (userId != null && request.meta.user_id !== userId) continue
      out.push({ peer_id: request.peer_id, addrs: request.addrs, meta: request.meta, last_seen_unix: Math.floor(lastSeenMs / second) })
    }
    return out.reverse()
  }

  /** Drops expired registrations; returns how many. */
  sweep (): number {
    const now = this.#now()
    let removed = 0
    for (const [id, reg] of this.#peers) {
      // Insertion order is registration order, so the first live one ends the expired prefix.
      if (!this.#expired(reg, now)) break
      this.#remove(id)
      removed++
    }
    return removed
  }

  get size (): number {
    return this.#peers.size
  }

  /** Approximate memory held by the registrations (see registrationBytes). */
  get bytes (): number {
    return this.#bytes
  }

  #remove (peerId: string): void {
    const reg = this.#peers.get(peerId)
    if (reg == null) return
    this.#bytes -= reg.bytes
    this.#peers.delete(peerId)
  }

  #expired (reg: Registration, now: number): boolean {
    return now - reg.lastSeenMs >= this.#ttlMs
  }
}
