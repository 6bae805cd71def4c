/**
 * The one backoff: how long to wait before attempt n+1 after n failures. Pure: the caller passes the random draw.
 *
 * Exponential with equal jitter: attempt 1 → base, 2 → 2 × base, 4 × base … up to the cap; the delay is then
 * uniformly between half of that and all of it (`jitter` is the draw in [0, 1)). Half is fixed so a retry never
 * comes at once; half is random so devices that failed together do not retry in lockstep.
 */

export interface BackoffInit {
  /** The delay before the second attempt, in ms. */
  baseMs: number
  /** The longest delay, in ms. */
  capMs: number
  /** A random draw in [0, 1): 0 gives half the delay, just under 1 gives all of it. */
  jitter: number
}

/** The delay after `attempt` failures (1-based; 0 or less counts as 1). */
export function nextDelayMs (attempt: number, init: BackoffInit): number {
  const exponent = Math.max(0, Math.min(attempt - 1, 52))
  const full = Math.min(init.capMs, init.baseMs * 2 ** exponent)
  return Math.round(full / 2 + (full / 2) * init.jitter)
}
