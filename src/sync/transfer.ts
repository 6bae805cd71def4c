/**
 * The decisions of the pull and push loops, as pure functions: given the loop's state and what the last request
 * came to, what next. The loops in actors/peer-actors.ts only perform them (request, store, log), so every rule
 * that keeps "never lose or duplicate an entry" is here, in one place, tested as a table in test/sync/.
 * The same decisions drive the tombstone loops where they are the same decision (cursor, halving, push cursor).
 */

/** How a request failed, as far as the loops care. */
export type TransferFailure =
  /** The request or its answer is over the protocol's byte cap (MessageTooLargeError). */
  | 'too-large'
  /** The peer does not serve this protocol (UnsupportedProtocolError): an older release. */
  | 'unsupported'
  /** Anything else: the round fails with it (the machine decides whether to retry). */
  | 'other'

/** Errors are matched by their stable `name` (they may have crossed a worker or a process). */
export function transferFailure (err: unknown): TransferFailure {
  const name = (err as { name?: unknown } | null)?.name
  if (name === 'MessageTooLargeError') return 'too-large'
  if (name === 'UnsupportedProtocolError') return 'unsupported'
  return 'other'
}

export type LimitStep =
  /** Ask again for the same cursor with fewer entries. */
  | { kind: 'retry', limit: number }
  /** A single entry does not fit: no smaller request can help (a permanent failure). */
  | { kind: 'give-up' }

/** After "too large": halve the batch limit, down to 1; at 1 there is nothing left to halve. */
export function afterTooLarge (limit: number): LimitStep {
  if (limit <= 1) return { kind: 'give-up' }
  return { kind: 'retry', limit: Math.max(1, Math.floor(limit / 2)) }
}

/**
 * What one round may pull from one peer, entries and tombstones alike; past either, the round ends and the next one
 * resumes from the cursor.
 */
export interface RoundLimits {
  maxEntries: number
  maxBytes: number
}

export interface PullState {
  /** The cursor the next request asks from: the last next_cursor stored. */
  cursor: number
  /** Entries per request (halved after "too large", never grown back within a round). */
  limit: number
  /** Entries received and stored this round. */
  pulled: number
  /** Of those, new here. */
  inserted: number
  /** Response bytes received this round, the batch being stored included. */
  bytes: number
}

export function startPull (cursor: number, limit: number): PullState {
  return { cursor, limit, pulled: 0, inserted: 0, bytes: 0 }
}

/** A batch's shape as the worker parsed it (before it is stored). */
export interface ParsedBatch {
  received: number
  nextCursor: number | null
}

/** A batch arrived: count its bytes (the round's byte limit counts what was received, stored or not). */
export function afterReceived (state: PullState, byteLength: number): PullState {
  return { ...state, bytes: state.bytes + byteLength }
}

/**
 * Whether to request the next batch while this one is being stored, and from which cursor. Only from the parsed
 * next_cursor, only when it moves forward, and not when this batch already ends the round (an empty batch, or the
 * round's entry or byte limit reached: that request would be wasted).
 */
export function prefetchCursor (state: PullState, batch: ParsedBatch, limits: RoundLimits): number | undefined {
  if (batch.received === 0 || batch.nextCursor == null || batch.nextCursor <= state.cursor) return undefined
  if (state.pulled + batch.received >= limits.maxEntries || state.bytes >= limits.maxBytes) return undefined
  return batch.nextCursor
}

/** A prefetched answer is used only when it was asked with the cursor and limit the loop would ask with now. */
export function prefetchMatches (asked: { cursor: number, limit: number }, state: PullState): boolean {
  return asked.cursor === state.cursor && asked.limit === state.limit
}

/** What storing a batch came to. */
export interface StoredBatch extends ParsedBatch {
  inserted: number
}

export type PullStep =
  /** Ask for the next batch from the new cursor. */
  | { kind: 'next', state: PullState }
  /** The peer has nothing after our cursor: the pull is complete. */
  | { kind: 'done', state: PullState }
  /** This round's limit is reached: stop now, the next round resumes from the saved cursor. */
  | { kind: 'round-limit', state: PullState }
  /** The peer's next_cursor does not move forward: following it would loop forever or re-read (a protocol error). */
  | { kind: 'stalled', state: PullState, nextCursor: number }

/** After a batch was stored: move the cursor to the batch's next_cursor, count it, and stop or continue. */
export function afterStored (state: PullState, batch: StoredBatch, limits: RoundLimits): PullStep {
  if (batch.received === 0 || batch.nextCursor == null) return { kind: 'done', state }
  if (batch.nextCursor <= state.cursor) return { kind: 'stalled', state, nextCursor: batch.nextCursor }
  const next: PullState = {
    ...state,
    cursor: batch.nextCursor,
    pulled: state.pulled + batch.received,
    inserted: state.inserted + batch.inserted
  }
  if (next.pulled >= limits.maxEntries || next.bytes >= limits.maxBytes) return { kind: 'round-limit', state: next }
  return { kind: 'next', state: next }
}

/** A page of our own entries (or tombstones) exported for a push. */
export interface PushPage {
  count: number
  /** The ingest_seq (or tombstone seq) of the last item in the page: the push cursor once it is acknowledged. */
  lastSeq: number
  /** Set when the page is empty because its first item alone is over the push cap. */
  tooLarge?: { entry_id: string, bytes: number }
}

export type PageStep =
  | { kind: 'send' }
  /** Nothing left after the push cursor. */
  | { kind: 'done' }
  /** The next entry alone is over the push cap: it can never be pushed (a permanent failure). */
  | { kind: 'entry-too-large', entryId: string, bytes: number }

export function beforePush (page: PushPage): PageStep {
  if (page.count > 0) return { kind: 'send' }
  if (page.tooLarge != null) return { kind: 'entry-too-large', entryId: page.tooLarge.entry_id, bytes: page.tooLarge.bytes }
  return { kind: 'done' }
}

export interface PushState {
  /** The push cursor: everything up to it is acknowledged by the peer. */
  seq: number
  limit: number
  pushed: number
}

/** The peer's answer to a push: how many it stored, how many it had already. */
export interface PushAck {
  ok: boolean
  stored: number
  ignored: number
}

export interface PushStep {
  state: PushState
  /** Set when the ack is not ok: how many items the peer refused for good (validation). */
  refused?: number
}

/**
 * After an acknowledged push the cursor moves past the whole page, refused items included: the peer refused them
 * for good (they failed its validation), resending cannot change that, and they stay in our database. Not moving
 * would resend the same page every round, forever, and never push anything after it.
 */
export function afterAck (state: PushState, page: PushPage, ack: PushAck): PushStep {
  const moved = { ...state, seq: page.lastSeq, pushed: state.pushed + page.count }
  return ack.ok ? { state: moved } : { state: moved, refused: Math.max(0, page.count - ack.stored - ack.ignored) }
}
