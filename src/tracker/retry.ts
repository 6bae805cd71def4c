/**
 * The tracker client's retry policy, as pure functions: which outcomes are worth another attempt, how long to
 * wait before it, and how long the attempt itself may take. Tested as a table.
 */
import { secondMs } from '../core/units.js'
import { backoffMs } from '../sync/backoff.js'

export interface RetryPolicy {
  /** Attempts in all (the first one included). @default 3 */
  attempts: number
  /** Timeout of the first attempt (connect + answer); doubles per attempt. @default 2 s */
  baseTimeoutMs: number
  /** Wait before the second attempt, before jitter; doubles per attempt (see backoffMs). @default 250 ms */
  baseDelayMs: number
  /** No wait is longer than this (also caps a server's Retry-After). @default 5 s */
  maxDelayMs: number
}

export const defaultRetryPolicy: RetryPolicy = {
  attempts: 3,
  baseTimeoutMs: 2 * secondMs,
  baseDelayMs: 250,
  maxDelayMs: 5 * secondMs
}

/** What one attempt came to. */
export type AttemptOutcome =
  | { kind: 'ok' }
  /** Connection refused/reset, DNS failure, … */
  | { kind: 'transport' }
  /** The attempt's timeout passed. */
  | { kind: 'timeout' }
  | { kind: 'status', status: number, retryAfterSec?: number }
  /** The answer was not a tracker's (bad JSON, wrong shape, too large). */
  | { kind: 'invalid' }
  /** The caller aborted. */
  | { kind: 'aborted' }

/** Transient network errors and HTTP 5xx/429/408 are retried; everything else is final. */
export function isRetryable (outcome: AttemptOutcome): boolean {
  switch (outcome.kind) {
    case 'transport':
    case 'timeout':
      return true
    case 'status':
      return outcome.status >= 500 || outcome.status === 429 || outcome.status === 408
    default:
      return false
  }
}

/** Timeout of attempt `n` (1-based): 2 s, 4 s, 8 s with the defaults. */
export function attemptTimeoutMs (attempt: number, policy: RetryPolicy = defaultRetryPolicy): number {
  return policy.baseTimeoutMs * 2 ** (attempt - 1)
}

/**
 * Wait after failed attempt `n` (1-based) before the next: the one backoff (base·2^(n−1) with equal jitter from
 * `random` ∈ [0, 1)), never below a server's Retry-After, never above maxDelayMs.
 */
export function retryDelayMs (attempt: number, random: number, policy: RetryPolicy = defaultRetryPolicy, retryAfterSec?: number): number {
  const backoff = backoffMs(attempt, random, { baseMs: policy.baseDelayMs, capMs: policy.maxDelayMs })
  const floor = retryAfterSec != null && retryAfterSec > 0 ? retryAfterSec * secondMs : 0
  return Math.round(Math.min(policy.maxDelayMs, Math.max(backoff, floor)))
}

export type RetryDecision = { retry: false } | { retry: true, delayMs: number }

/** After attempt `n` (1-based) ended with `outcome`: try again (after how long) or stop. */
export function decideRetry (outcome: AttemptOutcome, attempt: number, random: number, policy: RetryPolicy = defaultRetryPolicy): RetryDecision {
  if (!isRetryable(outcome) || attempt >= policy.attempts) return { retry: false }
  return { retry: true, delayMs: retryDelayMs(attempt, random, policy, outcome.kind === 'status' ? outcome.retryAfterSec : undefined) }
}

/** Retry-After in seconds (delta form only; an HTTP date is ignored). */
export function parseRetryAfter (value: string | null | undefined): number | undefined {
  if (value == null || !/^\d{1,6}$/.test(value.trim())) return undefined
  return Number(value.trim())
}
