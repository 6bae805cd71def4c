import test from 'ava'
import { isLoopbackUrl, observedWithPorts, Registrar, registrationAddrs, withoutLoopback, type RegistrarInit } from '../../src/tracker/registrar.js'
import { fakePeerId, withTracker } from './fixtures.js'
import { refusedPort } from '../helpers/ports.js'

const peerId = fakePeerId(1)
const meta = { device_id: 'dev-1', hostname: 'host-1', user_id: 'alice', version: '0.1.0' }

function registrar (t: import('ava').ExecutionContext, init: Partial<RegistrarInit> & { trackers: string[] }): { registrar: Registrar, lines: string[], observed: string[] } {
  const lines: string[] = []
  const observed: string[] = []
  const r = new Registrar({
    peerId,
    meta,
    addrs: () => [`/ip4/127.0.0.1/tcp/8845/p2p/${peerId}`],
    listenPorts: () => [8845],
    onObservedAddr: (addr) => observed.push(addr),
    log: (line) => lines.push(line),
    debounceMs: 20,
    retryBaseMs: 50,
    retryMaxMs: 200,
    // The top of the jitter range: the waits are 50, 100, 200 ms (the log lines below name them).
    random: () => 0.999,
    // The trackers here answer at once: a generous timeout, so a busy machine does not turn a slow answer into a
    // "failed" line (the backoff tests use refused connections and 401s, which fail at once anyway).
    policy: { attempts: 1, baseTimeoutMs: 10_000 },
    ...init
  })
  t.teardown(async () => await r.stop())
  return { registrar: r, lines, observed }
}

async function until (check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error('condition not met in time')
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}

test('observed IP is combined with every TCP listen port; unparsable observations give nothing', (t) => {
  t.deepEqual(observedWithPorts('/ip4/100.199.1.2/tcp/51234', [8845, 8845, 9000], peerId), [
    `/ip4/100.199.1.2/tcp/8845/p2p/${peerId}`,
    `/ip4/100.199.1.2/tcp/9000/p2p/${peerId}`
  ])
  t.deepEqual(observedWithPorts('/ip6/2001:db8::1/tcp/1', [8845], peerId), [`/ip6/2001:db8::1/tcp/8845/p2p/${peerId}`])
  t.deepEqual(observedWithPorts('', [8845], peerId), [])
  t.deepEqual(observedWithPorts('/dns4/x/tcp/1', [8845], peerId), [])
})

test('registration addresses end in /p2p/<self> (circuit ones stay as they are), deduplicated, at most 64', (t) => {
  const circuit = `/ip4/1.2.3.4/tcp/4001/p2p/${fakePeerId(2)}/p2p-circuit/p2p/${peerId}`
  t.deepEqual(registrationAddrs([['/ip4/10.0.0.1/tcp/1', `/ip4/10.0.0.1/tcp/1/p2p/${peerId}`], [circuit]], peerId), [`/ip4/10.0.0.1/tcp/1/p2p/${peerId}`, circuit])
  const many = Array.from({ length: 100 }, (_, i) => `/ip4/10.0.0.1/tcp/${i + 1}`)
  t.is(registrationAddrs([many], peerId).length, 64)
})

test('loopback addresses go only to a tracker on this machine', (t) => {
  t.true(isLoopbackUrl('http://127.0.0.1:8850'))
  t.true(isLoopbackUrl('http://localhost:8850/x'))
  t.true(isLoopbackUrl('http://[::1]:8850'))
  t.false(isLoopbackUrl('http://10.0.0.5:8850'))
  t.deepEqual(withoutLoopback(['/ip4/127.0.0.1/tcp/1', '/ip6/::1/tcp/1', '/ip4/127.0.0.1/tcp/4001/p2p/R/p2p-circuit/p2p/A', '/ip4/10.0.0.1/tcp/1', '/ip4/100.199.1.1/tcp/4001/p2p/R/p2p-circuit/p2p/A']),
    ['/ip4/10.0.0.1/tcp/1', '/ip4/100.199.1.1/tcp/4001/p2p/R/p2p-circuit/p2p/A'])
})

test('registers at once with its addresses and meta, then again every ttl/3', async (t) => {
  const tracker = await withTracker(t, { ttlSec: 3 }, { log: () => {} })
  const { registrar: r, lines, observed } = registrar(t, { trackers: [tracker.url] })
  r.start()
  await until(() => tracker.registry.list().length === 1 && lines.length >= 1)
  t.deepEqual(tracker.registry.list()[0]!.addrs, [`/ip4/127.0.0.1/tcp/8845/p2p/${peerId}`])
  t.deepEqual(tracker.registry.list()[0]!.meta, meta)
  // 127.0.0.1 + listen port is already one of our addresses: libp2p is not told about it again.
  t.deepEqual(observed, [])
  t.regex(lines[0]!, new RegExp(`tracker: registered with ${tracker.url} as ${peerId}: 1 addrs \\(0 via relay\\), ttl 3 s, observed /ip4/127\\.0\\.0\\.1/tcp/\\d+; next in 1 s`))
  // ttl 3 s → every second: two more within 5.5 s (registering only every ttl would take 6 s).
  const before = lines.length
  await until(() => lines.length >= before + 2, 5500)
  t.true(lines.slice(before).every((l) => l.startsWith('tracker: registered with')))
})

test('an observed public address is handed to libp2p once and registered with the listen port', async (t) => {
  const tracker = await withTracker(t, { ttlSec: 60 })
  const { registrar: r, observed, lines } = registrar(t, { trackers: [tracker.url], listenPorts: () => [8845, 9000] })
  r.start()
  await until(() => lines.length >= 1)
  const seen = /observed (\S+);/.exec(lines[0]!)![1]!
  t.regex(seen, /^\/ip4\/127\.0\.0\.1\/tcp\/\d+$/)
  // 9000 is not among our addresses: libp2p learns it, and the next registration carries it.
  t.deepEqual(observed, ['/ip4/127.0.0.1/tcp/9000'])
  await until(() => tracker.registry.list()[0]?.addrs.includes(`/ip4/127.0.0.1/tcp/9000/p2p/${peerId}`) === true)
})

test('address changes are registered promptly, once per burst', async (t) => {
  const tracker = await withTracker(t, { ttlSec: 60 })
  let addrs = [`/ip4/127.0.0.1/tcp/8845/p2p/${peerId}`]
  const { registrar: r, lines } = registrar(t, { trackers: [tracker.url], addrs: () => addrs })
  r.start()
  await until(() => lines.length >= 1)
  await new Promise((resolve) => setTimeout(resolve, 100))
  const settled = lines.length
  addrs = [...addrs, `/ip4/1.2.3.4/tcp/4001/p2p/${fakePeerId(3)}/p2p-circuit/p2p/${peerId}`]
  for (let i = 0; i < 5; i++) r.changed()
  await until(() => tracker.registry.list()[0]?.addrs.some((a) => a.includes('p2p-circuit')) === true)
  // The tracker stores the registration before the client reads the answer and logs: wait for the line, then
  // give a second registration from the burst time to show up.
  await until(() => lines.length >= settled + 1)
  await new Promise((resolve) => setTimeout(resolve, 150))
  t.is(lines.length, settled + 1, lines.join('\n'))
  t.regex(lines.at(-1)!, /\(1 via relay\)/)
  // No change: nothing sent.
  r.changed()
  await new Promise((resolve) => setTimeout(resolve, 150))
  t.is(lines.length, settled + 1)
})

test('a tracker that is down is retried on the backoff schedule and never makes start throw', async (t) => {
  const url = `http://127.0.0.1:${await refusedPort()}`
  const { registrar: r, lines } = registrar(t, { trackers: [url] })
  r.start()
  await until(() => lines.length >= 3, 5000)
  for (const line of lines.slice(0, 3)) t.regex(line, new RegExp(`tracker: registration with ${url} failed \\(attempt \\d\\): .*ECONNREFUSED.*; retrying in 0\\.[125]`))
})

test('a refused token is logged with the fix and retried at the slow pace', async (t) => {
  const tracker = await withTracker(t, { token: 'right' })
  const { registrar: r, lines } = registrar(t, { trackers: [tracker.url], token: 'wrong', retryMaxMs: 300 })
  r.start()
  await until(() => lines.length >= 2, 5000)
  t.regex(lines[0]!, /failed \(attempt 1\): tracker \S+ refused the token \(401\): check tracker_token \/ RUSTORY_TRACKER_TOKEN; retrying in 0\.3 s/)
  t.is(tracker.registry.list().length, 0)
})

test('firstRound resolves once the first registration with every tracker has ended, registered or failed', async (t) => {
  const tracker = await withTracker(t, { ttlSec: 60 }, { log: () => {} })
  const down = `http://127.0.0.1:${await refusedPort()}`
  const { registrar: r, lines } = registrar(t, { trackers: [tracker.url, down] })
  let settled = false
  const first = r.firstRound().then(() => { settled = true })
  await new Promise((resolve) => setTimeout(resolve, 50))
  t.false(settled, 'not before start')
  r.start()
  await first
  // Both attempts have ended: the registration is listed, and the tracker that is down has its failure logged.
  t.is(tracker.registry.list().length, 1)
  t.true(lines.some((l) => l.startsWith(`tracker: registered with ${tracker.url}`)))
  t.true(lines.some((l) => l.startsWith(`tracker: registration with ${down} failed (attempt 1)`)))
  // With no trackers it resolves at start.
  const { registrar: none } = registrar(t, { trackers: [] })
  none.start()
  await none.firstRound()
})
