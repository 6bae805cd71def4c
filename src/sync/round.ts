/**
 * The one line a peer's round ends with, and what it counts beside entries. Pure: the actors keep the counts per
 * peer and round and print this line (stdout), `rr sync-status` and `rr doctor` read the same counts from SQLite.
 */
import type { PeerOutcome } from './types.js'

/** What a round did beside entries: tombstones moved, entries refused. Kept by the actors, per peer, per round. */
export interface RoundExtras {
  /** Tombstones received that were new here. */
  tombstonesIn: number
  /** Entries deleted here by received tombstones. */
  deleted: number
  /** Tombstones pushed. */
  tombstonesOut: number
  /** Entries (or tombstones) the peer sent that we refused: invalid, over a cap. */
  refused: number
  /** Why the first refused one was refused. */
  refusedReason?: string
  /** The peer does not serve the tombstone protocols (an older release). */
  tombstonesUnsupported?: boolean
}

export const emptyExtras = (): RoundExtras => ({ tombstonesIn: 0, deleted: 0, tombstonesOut: 0, refused: 0 })

/**
 * One line per peer per round. A round that refused entries is `partial`, never an unqualified `ok`: the refused
 * entries are not here, and `rr sync-status` / `rr doctor` say so too.
 */
export function formatRound (outcome: PeerOutcome, extras: RoundExtras = emptyExtras()): string {
  const who = outcome.peerId ?? outcome.key
  const secs = (outcome.stats.lastRoundMs / 1000).toFixed(2)
  if (outcome.ok) {
    const status = extras.refused > 0 ? 'partial' : 'ok'
    const tomb = extras.tombstonesUnsupported === true
      ? ' tombstones=unsupported'
      : extras.tombstonesIn + extras.deleted + extras.tombstonesOut > 0 ? ` tombstones_in=${extras.tombstonesIn} deleted=${extras.deleted} tombstones_out=${extras.tombstonesOut}` : ''
    const refused = extras.refused > 0 ? ` refused=${extras.refused} (first: ${extras.refusedReason ?? '?'})` : ''
    return `sync: peer=${who} ${status} path=${outcome.path ?? '-'} pulled=${outcome.round.pulled} inserted=${outcome.round.inserted} pushed=${outcome.round.pushed}${tomb}${refused} duration=${secs}s`
  }
  return `sync: peer=${who} FAILED step=${outcome.error?.step ?? '-'} error=${outcome.error?.message ?? 'unknown'} duration=${secs}s`
}
