/**
 * What to do next when a dial or a transfer fails, and how long to wait: the sync policy as pure functions,
 * tested as a table of named cases (atuin plans its record sync the same way). No I/O, no clocks.
 */

import type { BackoffOptions } from './backoff.js'
import { secondMs } from '../core/units.js'

/** Dial attempts per path (direct, relay) before giving up on it. */
export const maxDialAttempts = 3
/** Sync (pull/push) attempts on one connection before the peer is marked failed for this round. */
export const maxSyncAttempts = 3
/**
 * How long a relayed link waits for DCUtR before the pull loop starts on the relay. A hole punch between two NATs
 * took under a second in test/integration/netns-dcutr.test.ts; a failure is usually as quick (refused) but one
 * dropped SYN costs DCUtR's 5 s attempt timeout, and an upgrade that lands later still moves the running loops.
 */
export const upgradeWaitMs = 10 * secondMs

/** The first wait between two dial attempts; the cap is the same for dials and transfers. */
export const dialBackoff: BackoffOptions = { baseMs: 500, capMs: 30 * secondMs }
/** A transfer that failed on an open link waits longer before the redial: the peer may be busy. */
export const syncBackoff: BackoffOptions = { baseMs: 1000, capMs: 30 * secondMs }

/** The wait between two --watch rounds: the interval ± 10 %, so many devices do not sync in lockstep. */
export function watchDelayMs (intervalSec: number, random: number): number {
  return Math.round(intervalSec * secondMs * (0.9 + 0.2 * random))
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

/** The path a round dials first, or undefined when there is nothing to dial at all. */
export function firstDialPath (facts: DialPlanFacts): DialStep | undefined {
  return dialPaths(facts)[0]
}

export type DialDecision =
  /** The same path again, after the dial backoff. */
  | { kind: 'retry' }
  /** The next path of the plan (the relay after direct). */
  | { kind: 'dial', path: DialStep }
  /** The round fails: retrying cannot help, or every path is spent. */
  | { kind: 'give-up' }

/**
 * After a failed dial attempt on `path`: retry it while attempts remain, else move to the next path of the plan.
 * A permanent failure (wrong swarm key, bad address) gives up at once: another path would meet the same peer.
 */
export function afterDialFailure (path: DialStep, facts: DialPlanFacts, failure: FailureFacts): DialDecision {
  if (shouldRetry(failure)) return { kind: 'retry' }
  if (failure.permanent) return { kind: 'give-up' }
  const paths = dialPaths(facts)
  const next = paths[paths.indexOf(path) + 1]
  return next != null ? { kind: 'dial', path: next } : { kind: 'give-up' }
}
