import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import test, { type ExecutionContext } from 'ava'
import { listPeers, ping, register, TrackerClient, TrackerError } from '../../src/tracker/index.js'
import { fakePeerId, registerBody, withTracker } from './fixtures.js'
import { refusedPort } from '../helpers/ports.js'

/**
 * Fast backoff so retry tests take milliseconds; the policy's shape is the real one. The servers here answer at
 * once, so the per-attempt timeout is generous: on a busy machine a timeout would only be a spurious failure.
 */
const fast = { policy: { baseDelayMs: 5, baseTimeoutMs: 10_000 } }

/** A real local HTTP server whose answers the test scripts; counts the requests it got. */
async function scripted (t: ExecutionContext, handler: (n: number, req: IncomingMessage, res: ServerResponse) => void): Promise<{ url: string, hits: () => number }> {
  let hits = 0
  const server = createServer((req, res) => {
    hits++
    req.resume()
    req.on('end', () => handler(hits, req, res))
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(async () => {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  })
  const { port } = server.address() as { port: number }
  return { url: `http://127.0.0.1:${port}`, hits: () => hits }
}

function json (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers })
  res.end(JSON.stringify(body))
}

test('register and listPeers work against a real tracker and return validated data', async (t) => {
  const tracker = await withTracker(t, { ttlSec: 45 })
  const answer = await register(tracker.url, registerBody(1, 'alice'))
  t.is(answer.ok, true)
  t.is(answer.ttl_sec, 45)
  t.regex(answer.observed_addr, /^\/ip4\/127\.0\.0\.1\/tcp\/\d+$/)
  await register(`${tracker.url}/`, registerBody(2, 'bob'))
  const client = new TrackerClient(tracker.url)
  t.deepEqual((await client.listPeers({ userId: 'alice' })).map((p) => p.peer_id), [fakePeerId(1)])
  t.deepEqual((await listPeers(tracker.url, { userId: 'bob' })).map((p) => p.peer_id), [fakePeerId(2)])
  await t.notThrowsAsync(ping(tracker.url))
})

test('the client retries a 503 and succeeds on the third attempt', async (t) => {
  const server = await scripted(t, (n, _req, res) => {
    if (n <= 2) json(res, 503, { error: 'warming up' })
    else json(res, 200, { ok: true, ttl_sec: 60, observed_addr: '/ip4/127.0.0.1/tcp/1234' })
  })
  const retries: number[] = []
  const answer = await register(server.url, registerBody(1), { ...fast, onRetry: (r) => retries.push(r.attempt) })
  t.is(answer.observed_addr, '/ip4/127.0.0.1/tcp/1234')
  t.is(server.hits(), 3)
  t.deepEqual(retries, [1, 2])
})

test('the client gives up after 3 attempts with a transient TrackerError naming the last failure', async (t) => {
  const server = await scripted(t, (_n, _req, res) => json(res, 502, { error: 'bad gateway' }))
  const err = await t.throwsAsync(listPeers(server.url, fast), { instanceOf: TrackerError })
  t.is(server.hits(), 3)
  t.is(err!.name, 'TrackerError')
  t.false(err!.permanent)
  t.is(err!.status, 502)
  t.regex(err!.message, /failed after 3 attempts: HTTP 502: bad gateway/)
})

test('429 and 408 are retried too; a 400 is not, and says why', async (t) => {
  const flaky = await scripted(t, (n, _req, res) => {
    if (n === 1) json(res, 429, { error: 'slow down' }, { 'retry-after': '0' })
    else if (n === 2) json(res, 408, { error: 'too slow' })
    else json(res, 200, { peers: [] })
  })
  t.deepEqual(await listPeers(flaky.url, fast), [])
  t.is(flaky.hits(), 3)
  const strict = await scripted(t, (_n, _req, res) => json(res, 400, { error: 'addrs[0] is not a multiaddr' }))
  const err = await t.throwsAsync(register(strict.url, registerBody(1), fast), { instanceOf: TrackerError })
  t.is(strict.hits(), 1)
  t.true(err!.permanent)
  t.regex(err!.message, /refused the request \(400\): addrs\[0\] is not a multiaddr/)
})

test('a wrong token is a permanent TrackerError with the fix, after one attempt', async (t) => {
  const tracker = await withTracker(t, { token: 'right' })
  let retried = false
  // A generous timeout: the default 2 s first attempt could time out on a busy machine and count as a retry.
  const err = await t.throwsAsync(register(tracker.url, registerBody(1), { token: 'wrong', policy: { baseTimeoutMs: 10_000 }, onRetry: () => { retried = true } }), { instanceOf: TrackerError })
  t.false(retried)
  t.true(err!.permanent)
  t.is(err!.status, 401)
  t.is(err!.message, `tracker ${tracker.url} refused the token (401): check tracker_token / RUSTORY_TRACKER_TOKEN`)
  await t.throwsAsync(listPeers(tracker.url), { message: /refused the token \(401\)/ })
  t.is((await register(tracker.url, registerBody(1), { token: 'right' })).ok, true)
})

test('a refused connection is retried 3 times, then a transient TrackerError', async (t) => {
  const freePort = await refusedPort()
  const attempts: number[] = []
  const err = await t.throwsAsync(listPeers(`http://127.0.0.1:${freePort}`, { ...fast, onRetry: (r) => attempts.push(r.attempt) }), { instanceOf: TrackerError })
  t.deepEqual(attempts, [1, 2])
  t.false(err!.permanent)
  t.regex(err!.message, /failed after 3 attempts: ECONNREFUSED/)
})

test('an attempt that gets no answer times out, and the next attempt (with a longer timeout) succeeds', async (t) => {
  const server = await scripted(t, (n, _req, res) => {
    if (n === 1) return // never answer
    json(res, 200, { peers: [{ ...registerBody(1), last_seen_unix: 1 }] })
  })
  const started = Date.now()
  // 1 s for the first attempt, 2 s for the second: room for the second answer on a busy machine.
  const peers = await listPeers(server.url, { policy: { baseTimeoutMs: 1000, baseDelayMs: 5 } })
  t.is(peers.length, 1)
  const elapsed = Date.now() - started
  t.true(elapsed >= 990, `answered after ${elapsed} ms, before the first attempt's 1 s timeout`)
  t.is(server.hits(), 2)
})

test('an answer that is not a tracker\'s is a permanent error and is not retried', async (t) => {
  const html = await scripted(t, (_n, _req, res) => { res.writeHead(200, { 'content-type': 'text/html' }); res.end('<html>hello</html>') })
  const err = await t.throwsAsync(listPeers(html.url, fast), { instanceOf: TrackerError })
  t.true(err!.permanent)
  t.regex(err!.message, /not a rustory tracker: answer is not JSON/)
  t.is(html.hits(), 1)
  const shape = await scripted(t, (_n, _req, res) => json(res, 200, { ok: true, ttl_sec: 'sixty' }))
  await t.throwsAsync(register(shape.url, registerBody(1), fast), { message: /ttl_sec must be a positive integer/ })
  const mixed = await scripted(t, (_n, _req, res) => json(res, 200, { peers: [{ ...registerBody(1), last_seen_unix: 5 }, { peer_id: 'x' }] }))
  t.deepEqual((await listPeers(mixed.url, fast)).map((p) => p.peer_id), [fakePeerId(1)], 'a malformed peer is dropped, the good one kept')
})

test('a non-HTTP tracker URL is refused at once', async (t) => {
  await t.throwsAsync(listPeers('ftp://example.org'), { instanceOf: TrackerError, message: /must start with http/ })
  await t.throwsAsync(listPeers('not a url'), { instanceOf: TrackerError, message: /is not a URL/ })
})

test('aborting stops the retries', async (t) => {
  const controller = new AbortController()
  const server = await scripted(t, (_n, _req, res) => {
    json(res, 503, { error: 'down' })
    setTimeout(() => controller.abort(), 50)
  })
  const started = Date.now()
  // The backoff after the 503 is 30–60 s: only an abort that cuts the wait short ends the call within 15 s.
  const pending = listPeers(server.url, { policy: { baseDelayMs: 60_000, maxDelayMs: 60_000, baseTimeoutMs: 10_000 }, signal: controller.signal })
  await t.throwsAsync(pending, { instanceOf: TrackerError })
  const elapsed = Date.now() - started
  t.true(elapsed < 15_000, `the 30–60 s backoff wait was cut short (ended after ${elapsed} ms)`)
  t.is(server.hits(), 1)
})
