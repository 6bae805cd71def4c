import test from 'ava'
import { isAuthorized, presentedTokens, tokenMatches } from '../../src/tracker/auth.js'

test('tokenMatches accepts only the exact token, whatever the lengths', (t) => {
  t.true(tokenMatches('s3cret', 's3cret'))
  t.false(tokenMatches('s3cre', 's3cret'))
  t.false(tokenMatches('s3cret!', 's3cret'))
  t.false(tokenMatches('S3CRET', 's3cret'))
  t.false(tokenMatches('', 's3cret'))
  t.false(tokenMatches(undefined, 's3cret'))
  t.false(tokenMatches('x'.repeat(10_000), 's3cret'))
})

test('tokenMatches compares in roughly constant time for short and long wrong tokens', (t) => {
  // Not a statistical proof, a guard against a regression to `===` plus early length checks: hashing first
  // makes a 1-byte and a 1 KiB wrong token cost the same order of time.
  // Each input is timed in 15 alternating rounds and only the fastest round counts: a GC, a JIT tier-up or the
  // machine being busy can only make a round slower, so the minima compare the work itself. A length or prefix
  // shortcut rejects 'a' without hashing, orders of magnitude faster than the hashing path.
  const time = (candidate: string): number => {
    const start = process.hrtime.bigint()
    for (let i = 0; i < 5000; i++) tokenMatches(candidate, 'the-real-token-value')
    return Number(process.hrtime.bigint() - start)
  }
  time('warm-up')
  let short = Infinity
  let prefix = Infinity
  for (let round = 0; round < 15; round++) {
    short = Math.min(short, time('a'))
    prefix = Math.min(prefix, time('the-real-token-valuX'))
  }
  t.true(prefix < short * 5 && short < prefix * 5, `fastest of 15 rounds: short=${short} ns, prefix=${prefix} ns`)
})

test('both header styles present a token; the Bearer scheme is case-insensitive', (t) => {
  t.deepEqual(presentedTokens({ authorization: 'Bearer abc' }), ['abc'])
  t.deepEqual(presentedTokens({ authorization: 'bearer   abc ' }), ['abc'])
  t.deepEqual(presentedTokens({ 'x-rustory-token': 'xyz' }), ['xyz'])
  t.deepEqual(presentedTokens({ authorization: 'Basic dXNlcjpwdw==' }), [])
  t.true(isAuthorized({ authorization: 'Basic zzz', 'x-rustory-token': 'abc' }, 'abc'))
  t.false(isAuthorized({}, 'abc'))
  t.false(isAuthorized({ authorization: 'Bearer abd' }, 'abc'))
})
