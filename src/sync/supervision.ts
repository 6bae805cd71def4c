/**
 * What the supervisor decides between --watch rounds, as pure functions tested as tables: when a peer's next
 * round starts, whether a 'sync now' may cut the wait short, and which supervised peers discovery has let go.
 */
import { backoffMs } from './backoff.js'
import { watchDelayMs } from './policy.js'
import { hourMs, secondMs } from '../core/units.js'

/**
 * The longest wait between two rounds of a peer that keeps failing, unless the interval is longer: a device that
 * was off for a week is tried again within the hour it comes back.
 */
export const maxFailingRoundDelayMs = hourMs

export interface NextRoundFacts {
  /** Seconds between --watch rounds. */
  intervalSec: number
  /** Rounds in a row that failed, the one just finished included; 0 after a good round. */
  failedRounds: number
  /** A draw in [0, 1). */
  random: number
}

/**
 * The wait before a peer's next round. After a good round, or a first failure (a blip), the interval ± 10 %.
 * Each further failure in a row doubles it, up to an hour: a device that is off, refuses us, or has the wrong
 * swarm key is no longer dialed 3 + 3 times every interval.
 */
export function nextRoundDelayMs (facts: NextRoundFacts): number {
  const interval = watchDelayMs(facts.intervalSec, facts.random)
  if (facts.failedRounds <= 1) return interval
  const intervalMs = facts.intervalSec * secondMs
  const backoff = backoffMs(facts.failedRounds, facts.random, { baseMs: intervalMs, capMs: Math.max(intervalMs, maxFailingRoundDelayMs) })
  return Math.max(interval, backoff)
}

/**
 * Whether 'sync now' (a command was just recorded here) starts the next round at once. Not for a peer that keeps
 * failing: every command typed would redial it, and the backoff would mean nothing.
 */
export function syncNowSkipsWait (failedRounds: number): boolean {
  return failedRounds <= 1
}

/**
 * The supervised peers to stop: those discovery no longer knows. `known` is undefined when discovery cannot tell
 * (a fixed --peers list): then nobody is let go.
 */
export function peersToForget (supervised: readonly string[], known: ReadonlySet<string> | undefined): string[] {
  if (known == null) return []
  return supervised.filter((key) => !known.has(key))
}
