import test from 'ava'
import { PeerRegistry } from '../../src/tracker/registry.js'
import { fakePeerId, registerBody } from './fixtures.js'

function clock (start = 1_700_000_000_000): { now: () => number, advance: (ms: number) => void } {
  let t = start
  return { now: () => t, advance: (ms) => { t += ms } }
}

test('a registration is listed until its ttl passes, and renewing keeps it', (t) => {
  const c = clock()
  const registry = new PeerRegistry({ ttlMs: 60_000, now: c.now })
  t.deepEqual(registry.register(registerBody(1)), { kind: 'new' })
  c.advance(59_000)
  t.deepEqual(registry.list().map((p) => p.peer_id), [fakePeerId(1)])
  t.deepEqual(registry.register(registerBody(1)), { kind: 'renewed' })
  c.advance(59_000)
  t.is(registry.list().length, 1)
  c.advance(1_000)
  t.is(registry.list().length, 0)
  t.is(registry.sweep(), 1)
  t.is(registry.size, 0)
})

test('list filters by user and reports last_seen_unix in seconds, newest first', (t) => {
  const c = clock()
  const registry = new PeerRegistry({ ttlMs: 60_000, now: c.now })
  registry.register(registerBody(1, 'alice'))
  c.advance(1500)
  registry.register(registerBody(2, 'bob'))
  c.advance(1500)
  registry.register(registerBody(3, 'alice'))
  t.deepEqual(registry.list('alice').map((p) => p.peer_id), [fakePeerId(3), fakePeerId(1)])
  t.deepEqual(registry.list('bob').map((p) => p.meta.user_id), ['bob'])
  t.is(registry.list('carol').length, 0)
  t.is(registry.list()[0]!.last_seen_unix, Math.floor((1_700_000_000_000 + 3000) / 1000))
})

test('a full registry refuses new peers, accepts renewals, and makes room as registrations expire', (t) => {
  const c = clock()
  const registry = new PeerRegistry({ ttlMs: 10_000, maxPeers: 2, now: c.now })
  registry.register(registerBody(1))
  c.advance(5_000)
  registry.register(registerBody(2))
  t.deepEqual(registry.register(registerBody(3)), { kind: 'full', maxPeers: 2 })
  t.deepEqual(registry.register(registerBody(2)), { kind: 'renewed' })
  c.advance(5_000) // peer 1 expires
  t.deepEqual(registry.register(registerBody(3)), { kind: 'new' })
  t.is(registry.size, 2)
  t.deepEqual(registry.list().map((p) => p.peer_id).sort(), [fakePeerId(2), fakePeerId(3)].sort())
})

test('the memory budget refuses a registration that would pass it, and a renewal replaces rather than adds', (t) => {
  const c = clock()
  const big = (seed: number) => registerBody(seed, 'alice', Array.from({ length: 64 }, (_, i) => `/ip4/10.0.0.1/tcp/${i + 1}/p2p/${fakePeerId(seed)}`))
  const registry = new PeerRegistry({ ttlMs: 10_000, maxBytes: 15_000, now: c.now })
  t.deepEqual(registry.register(big(1)), { kind: 'new' })
  const used = registry.bytes
  t.true(used > 5_000 && used < 7_500, `one 64-addr registration ≈ ${used} bytes`)
  t.deepEqual(registry.register(big(2)), { kind: 'new' })
  t.is(registry.register(big(3)).kind, 'full')
  t.deepEqual(registry.register(big(2)), { kind: 'renewed' })
  t.is(registry.bytes, 2 * used)
  c.advance(10_000)
  t.deepEqual(registry.register(big(3)), { kind: 'new' }, 'expired ones make room')
  t.is(registry.bytes, used)
})

test('per-user and per-source caps refuse new PeerIds beyond them but accept renewals', (t) => {
  const c = clock()
  const registry = new PeerRegistry({ ttlMs: 10_000, maxPeersPerUser: 2, maxPeersPerSource: 3, now: c.now })
  const from = (source: string) => ({ verified: false, source })
  t.deepEqual(registry.register(registerBody(1, 'alice'), from('10.0.0.1')), { kind: 'new' })
  t.deepEqual(registry.register(registerBody(2, 'alice'), from('10.0.0.1')), { kind: 'new' })
  const full = registry.register(registerBody(3, 'alice'), from('10.0.0.2'))
  t.is(full.kind, 'refused')
  t.regex((full as { reason: string }).reason, /per-user limit/)
  t.deepEqual(registry.register(registerBody(2, 'alice'), from('10.0.0.1')), { kind: 'renewed' })
  t.deepEqual(registry.register(registerBody(4, 'bob'), from('10.0.0.1')), { kind: 'new' })
  const busy = registry.register(registerBody(5, 'carol'), from('10.0.0.1'))
  t.regex((busy as { reason: string }).reason, /10\.0\.0\.1 already made 3 live registrations/)
  t.deepEqual(registry.register(registerBody(5, 'carol'), from('10.0.0.3')), { kind: 'new' })
  c.advance(10_000) // all expire: room again
  t.deepEqual(registry.register(registerBody(6, 'alice'), from('10.0.0.1')), { kind: 'new' })
})

test('an unsigned registration never replaces a signed one; a signed one must be newer than the last', (t) => {
  const registry = new PeerRegistry({ ttlMs: 10_000, now: clock().now })
  const signed = (at: number) => ({ ...registerBody(1, 'alice'), signed_at_ms: at, sig: 'AAAA' })
  t.deepEqual(registry.register(signed(100), { verified: true, source: 'a' }), { kind: 'new' })
  const unsigned = registry.register(registerBody(1, 'mallory'), { verified: false, source: 'b' })
  t.is(unsigned.kind, 'refused')
  t.deepEqual(registry.register(signed(100), { verified: true, source: 'a' }).kind, 'refused')
  t.deepEqual(registry.register(signed(101), { verified: true, source: 'a' }), { kind: 'renewed' })
  t.deepEqual(registry.list('alice').map((p) => p.signed_at_ms), [101])
})
