import test from 'ava'
import { AddressInUseError, errorReport, exitCodeOf, isAddressInUse, isUserFacing, RustoryError, UsageError } from '../../src/core/errors.js'
import { SwarmKeyMismatchError, SyncError } from '../../src/protocol/errors.js'
import { ConfigError } from '../../src/config/settings.js'
import { closest } from '../../src/core/suggest.js'

test('one base: every known error carries exitCode, permanent and userFacing', (t) => {
  const usage = new UsageError('bad flag')
  t.is(usage.name, 'UsageError')
  t.is(usage.exitCode, 2)
  t.false(usage.permanent)
  t.true(usage.userFacing)
  t.is(new ConfigError('x').exitCode, 2)
  t.true(new ConfigError('x') instanceof RustoryError)
  const mismatch = new SwarmKeyMismatchError('/ip4/127.0.0.1/tcp/1')
  t.true(mismatch instanceof SyncError && mismatch instanceof RustoryError)
  t.true(mismatch.permanent)
  t.is(mismatch.exitCode, 1)
  t.false(new SyncError('refused').permanent)
})

test('a user-facing error prints as its message on one line; anything else says it was unexpected', (t) => {
  t.is(errorReport(new UsageError('unknown flag --x'), false), 'rr: unknown flag --x')
  t.is(errorReport(new TypeError('cannot read properties of undefined\n  (reading "x")'), false),
    'rr: cannot read properties of undefined (reading "x") (unexpected error; RUSTORY_DEBUG=1 shows where it came from)')
  t.false(isUserFacing(new Error('plain')))
  t.false(isUserFacing(new RustoryError('internal', { userFacing: false })))
  t.regex(errorReport(new UsageError('x'), true), /^rr: UsageError: x\n\s+at /)
})

test('exit codes: the error\'s own, else 1', (t) => {
  t.is(exitCodeOf(new UsageError('x')), 2)
  t.is(exitCodeOf(new Error('x')), 1)
  t.is(exitCodeOf(Object.assign(new Error('x'), { exitCode: 0 })), 1)
  t.is(exitCodeOf('a string'), 1)
})

test('EADDRINUSE is found in the error or what it wraps (libp2p wraps the listen error)', (t) => {
  t.true(isAddressInUse(Object.assign(new Error('listen'), { code: 'EADDRINUSE' })))
  t.true(isAddressInUse(new Error('failed', { cause: new Error('listen EADDRINUSE: address already in use') })))
  t.false(isAddressInUse(new Error('ECONNREFUSED')))
  t.regex(new AddressInUseError('127.0.0.1:1', '--bind').message, /127\.0\.0\.1:1 is already in use.*with --bind$/)
})

const typos: Array<[string, string[], string | undefined]> = [
  ['serch', ['search', 'stats', 'history'], 'search'],
  ['histroy', ['search', 'stats', 'history'], 'history'],
  ['--fromat', ['--format', '--limit'], '--format'],
  ['--db-pth', ['--db-path', '--device-id'], '--db-path'],
  ['xyzzy', ['search', 'stats', 'history'], undefined],
  ['st', ['stats', 'search'], undefined],
  ['sync', ['sync-status', 'p2p-sync', 'http-sync'], 'sync-status']
]
for (const [input, candidates, expected] of typos) {
  test(`did you mean: ${input} → ${expected ?? 'nothing'}`, (t) => {
    t.is(closest(input, candidates), expected)
  })
}
