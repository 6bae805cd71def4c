/**
 * What a receiver does with validated entries before storing them (pure): on the 2.0.0 and 3.0.0 wires, a signed
 * entry must verify against its origin or it is refused; an unsigned one is kept as unverified. On 3.0.0 an entry
 * may instead name a chunk manifest of the batch (src/core/chunk.ts): it is its origin's iff the manifest's
 * signature verifies and the entry's hash is in it; otherwise it is refused the same way. On the 1.0.0 wire nothing
 * is verified: signatures are dropped and every entry is unverified. A stamp more than a day in the future is clamped
 * to the receive time and the original kept (ts_orig), so a forged far-future entry cannot sit at the top of
 * ctrl+r, and a genuine one from a device with a wrong clock is not lost. See docs/TRUST.md.
 */
import { ChunkHashes, verifyChunk, type Chunk } from './chunk.js'
import type { Entry } from './entry.js'
import { entryDigests, receivedDigests, type EntryDigests, type ReceivedText } from './entry-digests.js'
import { verifyEntry, withoutSignature } from './signature.js'
import { hourMs } from './units.js'

const dayMs = 24 * hourMs

/** How far ahead of the receiver's clock a stamp may be. */
export const maxFutureSkewMs = dayMs

export type WireVersion = 1 | 2 | 3 | 4

export interface AdmitOptions {
  /** Which protocol the entries came over. */
  wire: WireVersion
  /** The receiver's clock (ms since the epoch). */
  now: number
  /**
   * The PeerId at the other end of the connection, authenticated by its Noise handshake. An entry whose origin is
   * that peer comes from its own device over a channel its key authenticated, which proves as much as the
   * signature: it is stored as verified without checking `sig` (the next hop checks it). Verifying 200k signatures
   * cost a pull about 70% of its speed on this machine; devices mostly pull each other's entries first-hand.
   */
  authenticatedPeer?: string
  /**
   * Checks a signed entry (i: its place in `entries`). @default verifyEntry. The ingest worker passes the verdicts
   * it got from checking the batch on several threads at once (workers/verify-parallel.ts).
   */
  verify?: (entry: Entry, i: number) => boolean
  /** 3.0.0: the batch's chunk manifests, as received (their signatures are checked here, once each). */
  chunks?: readonly Chunk[]
  /**
   * 3.0.0: true for a chunk (by its place in `chunks`) known to be valid without a check: the receiver stores only
   * chunks it checked or signed, and has this one stored with the very same origin, signature and hashes.
   */
  chunkKnown?: (k: number) => boolean
  /** 3.0.0: the chunk (its place in `chunks`) the entry at place i of `entries` named; undefined for none, -1 for a bad `k`. */
  chunkRef?: (i: number) => number | undefined
  /**
   * 4.0.0: the place in its chunk's manifest of the entry at place i of `entries`, when a run of the chunk put it
   * there (rebuildChunks: the manifest was rebuilt with this entry's own hash at that place, so the chunk's signature
   * vouches for it); undefined otherwise.
   */
  chunkPlace?: (i: number) => number | undefined
  /** 4.0.0: why a chunk (its place in `chunks`) could not be rebuilt from its runs, or undefined when it was. */
  unbuilt?: (k: number) => string | undefined
  /**
   * Where an entry (i: its place in `entries`) is in the chunk it names, under that chunk's origin: the place of its
   * hash in the manifest, or -1 when it is not there.
   * @default its digest (`digests`) looked up in the chunk (ChunkHashes)
   */
  inChunk?: (entry: Entry, i: number, chunk: number) => number
  /** The digests of the entries checked against a chunk (chunkDigests). @default made here, on first need */
  digests?: EntryDigests
  /** The message the entries were validated from: chunkDigests then writes their canonical bytes from its text (receivedDigests). */
  received?: ReceivedText
}

/**
 * The hash of every entry admitReceived will check against its chunk (3.0.0: it names a chunk of the batch whose
 * origin is not the connection's authenticated peer), in one pass (src/core/entry-digests.ts).
 */
export function chunkDigests (entries: readonly Entry[], options: AdmitOptions): EntryDigests {
  const chunks = options.wire >= 3 ? options.chunks ?? [] : []
  const originOf = (i: number): string | undefined => {
    const k = options.chunkRef?.(i)
    const origin = k !== undefined ? chunks[k]?.origin : undefined
    return origin !== options.authenticatedPeer ? origin : undefined
  }
  return options.received != null ? receivedDigests(options.received, entries, originOf) : entryDigests(entries, originOf)
}

export interface Admitted {
  /**
   * chunk_ref: the place in options.chunks of the manifest an entry was verified against; chunk_pos: the place of its
   * hash in that manifest, when known (not for a first-hand entry named by `k`: it is not hashed).
   */
  entries: Array<Entry & { ts_orig?: string, chunk_ref?: number, chunk_pos?: number | undefined }>
  rejected: Array<{ index: number, entry_id?: string, reason: string }>
  /** Entries whose stamp was clamped. */
  clamped: number
}

/** True when a canonical stamp is more than maxFutureSkewMs past `now`. */
export function isFarFuture (ts: string, now: number): boolean {
  return ts > new Date(now + maxFutureSkewMs).toISOString()
}

/**
 * `indexes` maps each entry back to its place in the received batch (for rejection reasons). An entry admitted by
 * its chunk is given its `origin` and `chunk_ref` in place (pass copies to keep the originals unchanged).
 */
export function admitReceived (entries: readonly Entry[], options: AdmitOptions, indexes?: readonly number[]): Admitted {
  const out: Admitted = { entries: [], rejected: [], clamped: 0 }
  const nowTs = new Date(options.now).toISOString()
  const limit = new Date(options.now + maxFutureSkewMs).toISOString()
  const verify = options.verify ?? verifyEntry
  const chunks = options.wire >= 3 ? options.chunks ?? [] : []
  const chunkValid = new Map<number, boolean>()
  const lists = new Map<number, ChunkHashes>()
  let digests = options.digests
  const inChunk = options.inChunk ?? ((_e: Entry, i: number, k: number): number => {
    digests ??= chunkDigests(entries, options)
    let list = lists.get(k)
    if (list == null) lists.set(k, list = new ChunkHashes(chunks[k]!))
    return digests.hashed[i] === 1 ? list.positionOf(digests.digests, i) : -1
  })
  entries.forEach((received, i) => {
    let entry: Entry & { ts_orig?: string, chunk_ref?: number, chunk_pos?: number | undefined } = received
    const k = options.wire >= 3 ? options.chunkRef?.(i) : undefined
    const refuse = (reason: string): void => { out.rejected.push({ index: indexes?.[i] ?? i, entry_id: entry.entry_id, reason: `invalid entry ${entry.entry_id}: ${reason}` }) }
    if (options.wire === 1) {
      entry = withoutSignature(entry)
    } else if (k !== undefined) {
      const chunk = chunks[k]
      if (chunk == null) return refuse(`k ${k} names no chunk of the batch`)
      const unbuilt = options.unbuilt?.(k)
      if (unbuilt != null) return refuse(`chunk ${k} could not be rebuilt from its runs: ${unbuilt}`)
      let valid = chunkValid.get(k)
      if (valid == null) chunkValid.set(k, valid = options.chunkKnown?.(k) === true || verifyChunk(chunk))
      if (!valid) return refuse(`chunk ${k} signature does not verify against origin ${chunk.origin}`)
      // Placed by a run: the manifest that verified was rebuilt with this entry's hash at that place.
      let place = options.chunkPlace?.(i)
      // First-hand (the chunk's origin is the connection's authenticated peer): as for sig below, the next hop checks.
      if (place === undefined && chunk.origin !== options.authenticatedPeer) {
        place = inChunk(entry, i, k)
        if (place < 0) return refuse(`not in chunk ${k} of origin ${chunk.origin} (its hash is not listed)`)
      }
      // In place: `entries` are the receiver's own validated copies, and a copy of each would cost more than the
      // whole first-hand check (measured: 2 µs per entry).
      entry.origin = chunk.origin
      entry.chunk_ref = k
      entry.chunk_pos = place
    } else if (entry.sig != null && entry.origin !== options.authenticatedPeer && !verify(entry, i)) {
      return refuse(`sig does not verify against origin ${entry.origin ?? ''}`)
    }
    if (entry.ts > limit) {
      entry = { ...entry, ts: nowTs, ts_orig: entry.ts }
      out.clamped++
    }
    out.entries.push(entry)
  })
  return out
}
