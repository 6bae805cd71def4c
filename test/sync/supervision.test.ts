/** The supervisor's decisions and the one backoff, as tables of named cases. */
import test from 'ava'
import { nextDelayMs } from '../../src/sync/backoff.js'
import { maxFailingRoundDelayMs, nextRoundDelayMs, peersToForget, syncNowSkipsWait } from '../../src/sync/supervision.js'

const second = 1000
const hourMs = 3600 * second

const backoffCases: Array<[string, number, { baseMs: number, capMs: number, jitter: number }, number]> = [
  ['attempt 1 waits the base, less half of it with no jitter', 1, { baseMs: 1000, capMs: 30_000, jitter: 0 }, 500],
  ['attempt 1 with the largest jitter waits all of the base', 1, { baseMs: 1000, capMs: 30_000, jitter: 0.999_999 }, 1000],
  ['attempt 2 doubles the base', 2, { baseMs: 1000, capMs: 30_000, jitter: 0.5 }, 1500],
  ['attempt 4 is 8 × base', 4, { baseMs: 1000, capMs: 30_000, jitter: 0.5 }, 6000],
  ['a late attempt stops at the cap', 9, { baseMs: 1000, capMs: 30_000, jitter: 0.5 }, 22_500],
  ['attempt 0 counts as the first', 0, { baseMs: 1000, capMs: 30_000, jitter: 0 }, 500],
  ['a huge attempt number does not overflow past the cap', 10_000, { baseMs: 1000, capMs: 30_000, jitter: 0 }, 15_000]
]
for (const [name, attempt, init, expected] of backoffCases) {
  test(`backoff: ${name}`, (t) => { t.is(nextDelayMs(attempt, init), expected) })
}

const roundCases: Array<[string, { intervalSec: number, failedRounds: number, random: number }, number]> = [
  ['after a good round: the interval', { intervalSec: 60, failedRounds: 0, random: 0.5 }, 60 * second],
  ['after a good round, jittered ± 10 %', { intervalSec: 60, failedRounds: 0, random: 0 }, 54 * second],
  ['after one failed round (a blip): still the interval', { intervalSec: 60, failedRounds: 1, random: 0.5 }, 60 * second],
  ['two failed rounds: up to twice the interval', { intervalSec: 60, failedRounds: 2, random: 0.5 }, 90 * second],
  ['two failed rounds with the smallest draw: the interval', { intervalSec: 60, failedRounds: 2, random: 0 }, 60 * second],
  ['five failed rounds: 16 × the interval, jittered', { intervalSec: 60, failedRounds: 5, random: 0.5 }, 720 * second],
  ['many failed rounds: capped at an hour', { intervalSec: 60, failedRounds: 50, random: 1 - 1e-10 }, maxFailingRoundDelayMs],
  ['an interval over an hour: the wait stays the interval', { intervalSec: 7200, failedRounds: 50, random: 0.5 }, 2 * hourMs]
]
for (const [name, facts, expected] of roundCases) {
  test(`next round: ${name}`, (t) => { t.is(nextRoundDelayMs(facts), expected) })
}

const syncNowCases: Array<[string, number, boolean]> = [
  ['a healthy peer syncs at once', 0, true],
  ['a peer after one failed round syncs at once', 1, true],
  ['a peer failing round after round keeps its backoff', 2, false]
]
for (const [name, failedRounds, expected] of syncNowCases) {
  test(`sync now: ${name}`, (t) => { t.is(syncNowSkipsWait(failedRounds), expected) })
}

const forgetCases: Array<[string, string[], ReadonlySet<string> | undefined, string[]]> = [
  ['discovery still knows everyone: nobody goes', ['a', 'b'], new Set(['a', 'b']), []],
  ['a peer discovery no longer knows goes', ['a', 'b'], new Set(['a']), ['b']],
  ['discovery knows nobody: everyone goes', ['a', 'b'], new Set(), ['a', 'b']],
  ['discovery cannot tell (a fixed list): nobody goes', ['a', 'b'], undefined, []],
  ['a newly known peer is not a reason to drop anyone', ['a'], new Set(['a', 'c']), []]
]
for (const [name, supervised, known, expected] of forgetCases) {
  test(`forget: ${name}`, (t) => { t.deepEqual(peersToForget(supervised, known), expected) })
}
