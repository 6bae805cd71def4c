import test from 'ava'
import { backoffMs } from '../../src/sync/backoff.js'
import {
  afterDialFailure, dialBackoff, dialPaths, firstDialPath, maxDialAttempts, shouldRetry, syncBackoff, watchDelayMs,
  type DialDecision, type DialPlanFacts, type DialStep, type FailureFacts
} from '../../src/sync/policy.js'

const both: DialPlanFacts = { hasDirectAddrs: true, hasRelay: true }
const directOnly: DialPlanFacts = { hasDirectAddrs: true, hasRelay: false }
const relayOnly: DialPlanFacts = { hasDirectAddrs: false, hasRelay: true }
const nothing: DialPlanFacts = { hasDirectAddrs: false, hasRelay: false }

const planTable: Array<[string, DialPlanFacts, DialStep[]]> = [
  ['direct addresses and a relay: direct first, then the relay', both, ['direct', 'relay']],
  ['only direct addresses: direct alone', directOnly, ['direct']],
  ['only a relay (no address known): the relay alone', relayOnly, ['relay']],
  ['nothing to dial: an empty plan', nothing, []]
]

for (const [name, facts, expected] of planTable) {
  test(`dial plan: ${name}`, (t) => {
    t.deepEqual(dialPaths(facts), expected)
    t.is(firstDialPath(facts), expected[0])
  })
}

const transient = (attempt: number): FailureFacts => ({ permanent: false, attempt, maxAttempts: maxDialAttempts })
const permanent = (attempt: number): FailureFacts => ({ permanent: true, attempt, maxAttempts: maxDialAttempts })

// name, path that failed, plan, failure, decision
const dialTable: Array<[string, DialStep, DialPlanFacts, FailureFacts, DialDecision]> = [
  ['a refused direct dial with attempts left is retried', 'direct', both, transient(1), { kind: 'retry' }],
  ['the second refused direct dial is retried too', 'direct', both, transient(2), { kind: 'retry' }],
  ['after the third direct attempt the relay is next', 'direct', both, transient(3), { kind: 'dial', path: 'relay' }],
  ['after the third direct attempt with no relay the round gives up', 'direct', directOnly, transient(3), { kind: 'give-up' }],
  ['a wrong swarm key on the first direct dial gives up at once, relay or not', 'direct', both, permanent(1), { kind: 'give-up' }],
  ['a refused relay dial with attempts left is retried', 'relay', both, transient(1), { kind: 'retry' }],
  ['after the third relay attempt the round gives up (nothing after the relay)', 'relay', both, transient(3), { kind: 'give-up' }],
  ['a permanent relay failure gives up at once', 'relay', relayOnly, permanent(1), { kind: 'give-up' }]
]

for (const [name, path, facts, failure, expected] of dialTable) {
  test(`after a dial failure: ${name}`, (t) => {
    t.deepEqual(afterDialFailure(path, facts, failure), expected)
  })
}

const retryTable: Array<[string, FailureFacts, boolean]> = [
  ['a transient failure with attempts left', { permanent: false, attempt: 1, maxAttempts: 3 }, true],
  ['a transient failure on the last attempt', { permanent: false, attempt: 3, maxAttempts: 3 }, false],
  ['a permanent failure on the first attempt', { permanent: true, attempt: 1, maxAttempts: 3 }, false]
]

for (const [name, facts, expected] of retryTable) {
  test(`retry: ${name}`, (t) => {
    t.is(shouldRetry(facts), expected)
  })
}

test('the sync backoffs are the one backoff: up to 0.5 s then 1 s for dials, 1 s then 2 s for transfers, 30 s at most', (t) => {
  t.deepEqual([1, 2].map((n) => backoffMs(n, 0, dialBackoff)), [250, 500])
  t.deepEqual([1, 2].map((n) => backoffMs(n, 0, syncBackoff)), [500, 1000])
  t.is(backoffMs(20, 0, syncBackoff), 15_000)
  t.is(backoffMs(20, 0.9999, dialBackoff), 29_999)
})

const watchTable: Array<[string, number, number, number]> = [
  ['the low end of the jitter is 90 % of the interval', 60, 0, 54_000],
  ['the middle is the interval', 60, 0.5, 60_000],
  ['the high end is just under 110 %', 60, 0.999, 65_988]
]

for (const [name, intervalSec, random, expected] of watchTable) {
  test(`watch delay: ${name}`, (t) => {
    t.is(watchDelayMs(intervalSec, random), expected)
  })
}
