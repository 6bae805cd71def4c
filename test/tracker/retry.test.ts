import test from 'ava'
import { attemptTimeoutMs, decideRetry, defaultRetryPolicy, isRetryable, parseRetryAfter, retryDelayMs, type AttemptOutcome } from '../../src/tracker/retry.js'

const retryTable: Array<[string, AttemptOutcome, boolean]> = [
  ['connection refused', { kind: 'transport' }, true],
  ['timeout', { kind: 'timeout' }, true],
  ['500', { kind: 'status', status: 500 }, true],
  ['502', { kind: 'status', status: 502 }, true],
  ['503', { kind: 'status', status: 503 }, true],
  ['504', { kind: 'status', status: 504 }, true],
  ['429 too many requests', { kind: 'status', status: 429 }, true],
  ['408 request timeout', { kind: 'status', status: 408 }, true],
  ['400 bad request', { kind: 'status', status: 400 }, false],
  ['401 unauthorized', { kind: 'status', status: 401 }, false],
  ['403 forbidden', { kind: 'status', status: 403 }, false],
  ['404 not found', { kind: 'status', status: 404 }, false],
  ['413 too large', { kind: 'status', status: 413 }, false],
  ['invalid answer', { kind: 'invalid' }, false],
  ['aborted by the caller', { kind: 'aborted' }, false],
  ['ok', { kind: 'ok' }, false]
]

for (const [name, outcome, expected] of retryTable) {
  test(`retry policy: ${name} is ${expected ? '' : 'not '}retried`, (t) => {
    t.is(isRetryable(outcome), expected)
  })
}

test('attempt timeouts grow 2 s, 4 s, 8 s', (t) => {
  t.deepEqual([1, 2, 3].map((n) => attemptTimeoutMs(n)), [2000, 4000, 8000])
})

const delayTable: Array<[string, number, number, number | undefined, number]> = [
  // name, attempt, random, retryAfterSec, expected ms
  ['first retry, jitter at its low end is half the base', 1, 0, undefined, 125],
  ['second retry doubles', 2, 0, undefined, 250],
  ['jitter at its high end is just under the full wait', 2, 0.999, undefined, 500],
  ['jitter in the middle is three quarters', 1, 0.5, undefined, 188],
  ['Retry-After raises the wait', 1, 0.5, 2, 2000],
  ['Retry-After is capped at maxDelay', 1, 0.5, 3600, 5000],
  ['backoff stops at maxDelay, jittered below it', 10, 0.5, undefined, 3750]
]

for (const [name, attempt, random, retryAfter, expected] of delayTable) {
  test(`retry delay: ${name}`, (t) => {
    t.is(retryDelayMs(attempt, random, defaultRetryPolicy, retryAfter), expected)
  })
}

test('decideRetry stops after the third attempt even for a retryable outcome', (t) => {
  const outcome: AttemptOutcome = { kind: 'status', status: 503 }
  t.deepEqual(decideRetry(outcome, 1, 0), { retry: true, delayMs: 125 })
  t.deepEqual(decideRetry(outcome, 2, 0), { retry: true, delayMs: 250 })
  t.deepEqual(decideRetry(outcome, 3, 0.5), { retry: false })
  t.deepEqual(decideRetry({ kind: 'status', status: 400 }, 1, 0.5), { retry: false })
})

test('Retry-After is read in its seconds form only', (t) => {
  t.is(parseRetryAfter('7'), 7)
  t.is(parseRetryAfter(' 12 '), 12)
  t.is(parseRetryAfter('Wed, 21 Oct 2015 07:28:00 GMT'), undefined)
  t.is(parseRetryAfter('-1'), undefined)
  t.is(parseRetryAfter(null), undefined)
})
