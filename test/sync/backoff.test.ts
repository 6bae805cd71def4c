import test from 'ava'
import { backoffMs, type BackoffOptions } from '../../src/sync/backoff.js'

const options: BackoffOptions = { baseMs: 1000, capMs: 30_000 }

// name, failures, random, expected ms
const table: Array<[string, number, number, number]> = [
  ['the first failure waits half the base at the low end of the jitter', 1, 0, 500],
  ['the first failure waits just under the base at the high end', 1, 0.999, 1000],
  ['the middle of the jitter is three quarters of the wait', 1, 0.5, 750],
  ['the second failure doubles the wait', 2, 0, 1000],
  ['the third failure doubles it again', 3, 0, 2000],
  ['the wait stops at the cap', 6, 0.999, 29_985],
  ['the cap still gets its jitter, never more than the cap', 6, 0, 15_000],
  ['a huge failure count is the cap, not Infinity', 5000, 0.5, 22_500],
  ['zero failures count as one', 0, 0, 500],
  ['a fractional failure count is floored', 2.7, 0, 1000]
]

for (const [name, failures, random, expected] of table) {
  test(`backoff: ${name}`, (t) => {
    t.is(backoffMs(failures, random, options), expected)
  })
}

test('backoff: every jitter stays within [half, all] of the un-jittered wait and under the cap', (t) => {
  for (let failures = 1; failures <= 10; failures++) {
    const full = Math.min(options.capMs, options.baseMs * 2 ** (failures - 1))
    for (const random of [0, 0.1, 0.25, 0.5, 0.75, 0.9, 0.999999]) {
      const wait = backoffMs(failures, random, options)
      t.true(wait >= full / 2 && wait <= full && wait <= options.capMs, `failures=${failures} random=${random}: ${wait}`)
    }
  }
})
