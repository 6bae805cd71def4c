/**
 * What to do next when a dial or a transfer fails, and how long to wait: the sync policy as pure functions,
 * tested as a table of named cases (atuin plans its record sync the same way). No I/O, no clocks.
 */

const second = 1000

/** Dial attempts per path (direct, relay) before giving up on it. */
export const maxDialAttempts = 3
/** Sync (pull/push) attempts on one connection before the peer is marked failed for this round. */
export const maxSyncAttempts = 3
/**
 * How long a relayed link waits for DCUtR before the pull loop starts on the relay. A hole punch between two NATs
 * took under a second in test/integration/netns-dcutr.test.ts; a failure is usually as quick (refused) but one
 * dropped SYN costs DCUtR's 5 s attempt timeout, and an upgrade that lands later still moves the running loops.
 */
export const upgradeWaitMs = 10 * second

export interface BackoffOptions {
  /** First delay. @default 500 ms */
  baseMs?: number
  /** Longest delay. @default 30 s */
  capMs?: number
}

/**
 * Exponential backoff with equal jitter: attempt 1 → base, 2 → 2×base, … capped; the actual delay is uniformly
 * between half and all of it. `random` is in [0, 1).
 */
export function backoffDelayMs (attempt: number, random: number, options: BackoffOptions = {}): number {
  const base = options.baseMs ?? 500
  const cap = options.capMs ?? 30 * second
  const full = Math.min(cap, base * 2 ** Math.max(0, attempt - 1))
  return Math.round(full / 2 + (full / 2) * random)
}

/** The wait between two --watch rounds: the interval ± 10 %, so many devices do not sync in lockstep. */
export function watchDelayMs (intervalSec: number, random: number): number {
  return Math.round(intervalSec * second * (0.9 + 0.2 * random))
}

export interface FailureFacts {
  /** The error says retrying cannot help (wrong swarm key, bad token, protocol violation). */
  permanent: boolean
  /** Attempts made so far on this step, including the failed one. */
  attempt: number
  maxAttempts: number
}

/** Retry the same step after a backoff, or move on (next path, or give up). */
export function shouldRetry (facts: FailureFacts): boolean {
  return !facts.permanent && facts.attempt < facts.maxAttempts
}

export type DialStep = 'direct' | 'relay'

export interface DialPlanFacts {
  hasDirectAddrs: boolean
  hasRelay: boolean
}

/** The order of dial paths: direct first, then relay fallback, skipping those that have nothing to dial. */
export function dialPaths (facts: DialPlanFacts): DialStep[] {
  const paths: DialStep[] = []
  if (facts.hasDirectAddrs) paths.push('direct')
  if (facts.hasRelay) paths.push('relay')
  return paths
}

/**
 * After "message too large": halve the batch limit, down to 1. Returns undefined when the limit is already 1,
 * i.e. a single entry does not fit and no smaller request can help.
 */
export function limitAfterTooLarge (limit: number): number | undefined {
  if (limit <= 1) return undefined
  return Math.max(1, Math.floor(limit / 2))
}

/** A pulled batch must move the cursor forward; anything else would loop forever or re-read. */
export function cursorAdvances (previous: number, next: number | null, received: number): boolean {
  if (received === 0) return true
  return next != null && next > previous
}
