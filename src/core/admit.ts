/**
 * What a receiver does with validated entries before storing them (pure): on the 2.0.0 wire, a signed entry must
 * verify against its origin or it is refused; an unsigned one is kept as unverified. On the 1.0.0 wire nothing is
 * verified: signatures are dropped and every entry is unverified. A stamp more than a day in the future is clamped
 * to the receive time and the original kept (ts_orig), so a forged far-future entry cannot sit at the top of
 * ctrl+r, and a genuine one from a device with a wrong clock is not lost. See docs/TRUST.md.
 */
import type { Entry } from './entry.js'
import { verifyEntry, withoutSignature } from './signature.js'
import { hourMs } from './units.js'

const dayMs = 24 * hourMs

/** How far ahead of the receiver's clock a stamp may be. */
export const maxFutureSkewMs = dayMs

export type WireVersion = 1 | 2

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
}

export interface Admitted {
  entries: Array<Entry & { ts_orig?: string }>
  rejected: Array<{ index: number, entry_id?: string, reason: string }>
  /** Entries whose stamp was clamped. */
  clamped: number
}

/** True when a canonical stamp is more than maxFutureSkewMs past `now`. */
export function isFarFuture (ts: string, now: number): boolean {
  return ts > new Date(now + maxFutureSkewMs).toISOString()
}

/** `indexes` maps each entry back to its place in the received batch (for rejection reasons). */
export function admitReceived (entries: readonly Entry[], options: AdmitOptions, indexes?: readonly number[]): Admitted {
  const out: Admitted = { entries: [], rejected: [], clamped: 0 }
  const nowTs = new Date(options.now).toISOString()
  const limit = new Date(options.now + maxFutureSkewMs).toISOString()
  const verify = options.verify ?? verifyEntry
  entries.forEach((received, i) => {
    let entry: Entry & { ts_orig?: string } = received
    if (options.wire === 1) {
      entry = withoutSignature(entry)
    } else if (entry.sig != null && entry.origin !== options.authenticatedPeer && !verify(entry, i)) {
      out.rejected.push({ index: indexes?.[i] ?? i, entry_id: entry.entry_id, reason: `invalid entry ${entry.entry_id}: sig does not verify against origin ${entry.origin ?? ''}` })
      return
    }
    if (entry.ts > limit) {
      entry = { ...entry, ts: nowTs, ts_orig: entry.ts }
      out.clamped++
    }
    out.entries.push(entry)
  })
  return out
}
