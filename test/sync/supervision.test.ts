/** The supervisor's decisions as tables of named cases (the backoff itself: backoff.test.ts). */
import test from 'ava'
import { maxFailingRoundDelayMs, nextRoundDelayMs, peersToForget, syncNowSkipsWait } from '../../src/sync/supervision.js'

const second = 1000
const hourMs = 3600 * second

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
