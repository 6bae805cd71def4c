/**
 * The one backoff: how long to wait after the n-th failure in a row. Every retry in rustory uses it (sync dials
 * and transfers, the tracker client, the tracker registrar, the relay reservation), each with its own base and cap.
 * Pure: the caller passes the random number, so a table test can name every case.
 */

export interface BackoffOptions {
  /** The wait after the first failure, before jitter. */
  baseMs: number
  /** No wait is longer than this. */
  capMs: number
}

/**
 * Exponential backoff with equal jitter. The un-jittered wait doubles per failure from `baseMs` and stops at
 * `capMs`: failure 1 → base, 2 → 2·base, 3 → 4·base, … The wait returned is uniform in [½·that, that): never
 * more than the cap (a cap is a promise to the user), never less than half (so it still backs off), and spread
 * enough that many devices that failed together do not retry together.
 *
 * `failures` is 1-based (values below 1 count as 1); `random` is in [0, 1) (Math.random, or fixed in tests).
 */
export function backoffMs (failures: number, random: number, options: BackoffOptions): number {
  const exponent = Math.max(0, Math.floor(failures) - 1)
  // 2 ** 1100 is Infinity; Math.min brings it back to the cap.
  const full = Math.min(options.capMs, options.baseMs * 2 ** exponent)
  return Math.round(full / 2 + (full / 2) * random)
}
