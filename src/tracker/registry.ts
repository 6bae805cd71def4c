/**
 * The tracker's memory: one registration per PeerId, expiring `ttl` after its last register call, bounded in
 * count and bytes, per user_id and per source address. A signed registration can only be replaced by a newer
 * signed one (so never by an unsigned one, and never by a replay). Pure apart from the injected clock.
 */
import type { PeerRecord, RegisterRequest } from './types.js'
import { secondMs } from '../core/units.js'

export interface PeerRegistryInit {
  /** How long a registration lives after its last register call. */
  ttlMs: number
  /** Registrations kept at most; a new PeerId beyond it is refused until some expire. @default 10000 */
  maxPeers?: number
  /** Total size of the stored registrations (their strings), so memory stays bounded. @default 32 MiB */
  maxBytes?: number
  /** Live registrations under one user_id at most (a new PeerId beyond it is refused). @default 64 */
  maxPeersPerUser?: number
  /** Live registrations made from one source IP at most (a new PeerId beyond it is refused). @default 64 */
  maxPeersPerSource?: number
  /** How long the newest signature time of a vanished PeerId is remembered, to refuse replays. @default 10 min */
  replayMemoryMs?: number
  /** @default Date.now */
  now?: () => number
}

export type RegisterOutcome =
  | { kind: 'new' | 'renewed' }
  | { kind: 'full', maxPeers: number }
  | { kind: 'refused', status: 409 | 429, reason: string }

/** Who made a registration, as the server established it. */
export interface RegistrationOrigin {
  /** The signature was checked against the PeerId. */
  verified: boolean
  /** The caller's IP address. */
  source: string
}

interface Registration {
  request: RegisterRequest
  lastSeenMs: number
  bytes: number
  verified: boolean
  source: string
}

/** Approximate memory of a registration: its strings, plus a fixed overhead per record and per address. */
export function registrationBytes (request: RegisterRequest): number {
  const { meta } = request
  let bytes = 256 + request.peer_id.length + meta.device_id.length + meta.hostname.length + meta.user_id.length + meta.version.length + (request.sig?.length ?? 0)
  for (const a of request.addrs) bytes += 32 + a.length
  return bytes
}

function bump (counts: Map<string, number>, key: string, by: number): void {
  const n = (counts.get(key) ?? 0) + by
  if (n <= 0) counts.delete(key)
  else counts.set(key, n)
}

export class PeerRegistry {
  readonly #peers = new Map<string, Registration>()
  readonly #perUser = new Map<string, number>()
  readonly #perSource = new Map<string, number>()
  /** PeerId → newest accepted signed_at_ms, kept past expiry for replayMemoryMs. */
  readonly #lastSigned = new Map<string, number>()
  readonly #ttlMs: number
  readonly #maxPeers: number
  readonly #maxBytes: number
  readonly #maxPerUser: number
  readonly #maxPerSource: number
  readonly #replayMemoryMs: number
  readonly #now: () => number
  #bytes = 0

  constructor (init: PeerRegistryInit) {
    this.#ttlMs = init.ttlMs
    this.#maxPeers = init.maxPeers ?? 10_000
    this.#maxBytes = init.maxBytes ?? 32 * 1024 * 1024
    this.#maxPerUser = init.maxPeersPerUser ?? 64
    this.#maxPerSource = init.maxPeersPerSource ?? 64
    this.#replayMemoryMs = Math.max(init.replayMemoryMs ?? 10 * 60 * secondMs, init.ttlMs)
    this.#now = init.now ?? Date.now
  }

  /**
   * Adds or renews a registration. When full, expired ones are swept first; still full → refused. Unsigned
   * registrations (origin.verified false) never replace a signed one; a signed one must be newer than the last.
   */
  register (request: RegisterRequest, origin: RegistrationOrigin = { verified: false, source: '' }): RegisterOutcome {
    const now = this.#now()
    const bytes = registrationBytes(request)
    const live = (): Registration | undefined => {
      const known = this.#peers.get(request.peer_id)
      return known != null && !this.#expired(known, now) ? known : undefined
    }
    const existing = live()
    if (existing?.verified === true && !origin.verified) {
      return { kind: 'refused', status: 409, reason: `peer ${request.peer_id} is registered with its signature; an unsigned registration cannot replace it` }
    }
    if (origin.verified && request.signed_at_ms != null) {
      const last = this.#lastSigned.get(request.peer_id)
      if (last != null && request.signed_at_ms <= last) {
        return { kind: 'refused', status: 409, reason: `registration of ${request.peer_id} signed at ${request.signed_at_ms} is not newer than the current one (${last}): a replay` }
      }
    }
    const capProblem = (): RegisterOutcome | undefined => {
      const known = live()
      const sameUser = known?.request.meta.user_id === request.meta.user_id
      if (!sameUser && (this.#perUser.get(request.meta.user_id) ?? 0) >= this.#maxPerUser) {
        return { kind: 'refused', status: 429, reason: `user_id ${JSON.stringify(request.meta.user_id)} already has ${this.#maxPerUser} live registrations (the per-user limit)` }
      }
      const sameSource = known?.source === origin.source
      if (!sameSource && (this.#perSource.get(origin.source) ?? 0) >= this.#maxPerSource) {
        return { kind: 'refused', status: 429, reason: `${origin.source} already made ${this.#maxPerSource} live registrations (the per-address limit)` }
      }
      return undefined
    }
    const fits = (): boolean => {
      const known = this.#peers.get(request.peer_id)
      if (known == null && this.#peers.size >= this.#maxPeers) return false
      return this.#bytes - (known?.bytes ?? 0) + bytes <= this.#maxBytes
    }
    if (capProblem() != null || !fits()) this.sweep()
    const capped = capProblem()
    if (capped != null) return capped
    if (!fits()) return { kind: 'full', maxPeers: this.#maxPeers }
    // Delete first so Map order stays "least recently registered first" (sweep can stop early).
    this.#remove(request.peer_id)
    this.#peers.set(request.peer_id, { request, lastSeenMs: now, bytes, verified: origin.verified, source: origin.source })
    this.#bytes += bytes
    bump(this.#perUser, request.meta.user_id, 1)
    bump(this.#perSource, origin.source, 1)
    if (origin.verified && request.signed_at_ms != null) {
      this.#lastSigned.delete(request.peer_id)
      this.#lastSigned.set(request.peer_id, request.signed_at_ms)
    }
    return { kind: existing != null ? 'renewed' : 'new' }
  }

  /** Unexpired registrations, one user's (what the server answers) or all (for tests and logs), newest first. */
  list (userId?: string): PeerRecord[] {
    return [...this.records(userId)]
  }

  /** The same, one at a time (so a listing can be streamed without building it whole). */
  * records (userId?: string): Generator<PeerRecord> {
    const now = this.#now()
    const regs = [...this.#peers.values()].filter((r) => (userId == null || r.request.meta.user_id === userId) && !this.#expired(r, now)).reverse()
    for (const { request, lastSeenMs } of regs) {
      yield {
        peer_id: request.peer_id,
        addrs: request.addrs,
        meta: request.meta,
        last_seen_unix: Math.floor(lastSeenMs / secondMs),
        ...(request.signed_at_ms != null && request.sig != null ? { signed_at_ms: request.signed_at_ms, sig: request.sig } : {})
      }
    }
  }

  /** Drops expired registrations (and replay memory past its time); returns how many registrations. */
  sweep (): number {
    const now = this.#now()
    let removed = 0
    for (const [id, reg] of this.#peers) {
      // Insertion order is registration order, so the first live one ends the expired prefix.
      if (!this.#expired(reg, now)) break
      this.#remove(id)
      removed++
    }
    for (const [id, at] of this.#lastSigned) {
      if (now - at < this.#replayMemoryMs || this.#peers.has(id)) break
      this.#lastSigned.delete(id)
    }
    // Bounded like the registrations themselves.
    while (this.#lastSigned.size > 2 * this.#maxPeers) {
      const oldest = this.#lastSigned.keys().next().value
      if (oldest == null) break
      this.#lastSigned.delete(oldest)
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
    bump(this.#perUser, reg.request.meta.user_id, -1)
    bump(this.#perSource, reg.source, -1)
    this.#peers.delete(peerId)
  }

  #expired (reg: Registration, now: number): boolean {
    return now - reg.lastSeenMs >= this.#ttlMs
  }
}
