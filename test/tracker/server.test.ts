import { request } from 'node:http'
import { connect } from 'node:net'
import test from 'ava'
import { fakePeerId, getJson, postJson, registerBody, withTracker } from './fixtures.js'

test('a registered peer is listed with its addrs, meta and last_seen_unix, and ping answers ok', async (t) => {
  const lines: string[] = []
  const tracker = await withTracker(t, { ttlSec: 60 }, { log: (l) => lines.push(l) })
  const before = Math.floor(Date.now() / 1000)
  const reg = await postJson(`${tracker.url}/api/v1/peers/register`, registerBody(1))
  t.is(reg.status, 200)
  t.is(reg.json.ok, true)
  t.is(reg.json.ttl_sec, 60)
  const list = await getJson(`${tracker.url}/api/v1/peers?user_id=alice`)
  t.is(list.status, 200)
  t.is(list.json.peers.length, 1)
  const [peer] = list.json.peers
  t.is(peer.peer_id, fakePeerId(1))
  t.deepEqual(peer.addrs, registerBody(1).addrs)
  t.deepEqual(peer.meta, registerBody(1).meta)
  t.true(peer.last_seen_unix >= before && peer.last_seen_unix <= Math.ceil(Date.now() / 1000))
  t.deepEqual((await getJson(`${tracker.url}/api/v1/ping`)).json, { ok: true })
  t.is(lines.length, 1)
  t.regex(lines[0]!, new RegExp(`^tracker register: peer=${fakePeerId(1)} addrs=1 user="alice" .* new unverified$`))
})

test('a registration\'s user_id and device_id reach the log without raw terminal controls (C1 CSI, DEL, bidi)', async (t) => {
  const lines: string[] = []
  const tracker = await withTracker(t, { ttlSec: 60 }, { log: (l) => lines.push(l) })
  const body = registerBody(3)
  body.meta.user_id = 'alice\u009b2J\u007f'
  body.meta.device_id = 'laptop\u202egnp.exe'
  t.is((await postJson(`${tracker.url}/api/v1/peers/register`, body)).status, 200)
  t.is(lines.length, 1)
  t.false(/[\u007f-\u009f\u202a-\u202e]/.test(lines[0]!), lines[0])
  t.true(lines[0]!.includes('user="alice\\u009b2J\\u007f" device="laptop\\u202egnp.exe"'), lines[0])
  // The registration itself is stored as sent: only the log line is written safely.
  const list = await getJson(`${tracker.url}/api/v1/peers?user_id=${encodeURIComponent(body.meta.user_id)}`)
  t.is(list.json.peers[0]?.meta.device_id, body.meta.device_id)
})

test('observed_addr is the caller\'s address and source port as the tracker saw them', async (t) => {
  const tracker = await withTracker(t)
  const { port } = tracker.address
  // A raw request so the test knows its own source port.
  const result = await new Promise<{ local: number, body: string }>((resolve, reject) => {
    const body = JSON.stringify(registerBody(2))
    const req = request({ host: '127.0.0.1', port, method: 'POST', path: '/api/v1/peers/register', headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = ''
      res.on('data', (d: Buffer) => { text += d.toString() })
      res.on('end', () => resolve({ local: req.socket!.localPort!, body: text }))
    })
    req.on('error', reject)
    req.end(body)
  })
  t.is(JSON.parse(result.body).observed_addr, `/ip4/127.0.0.1/tcp/${result.local}`)
})

test('registrations expire after the ttl and the user_id filter selects one user\'s peers', async (t) => {
  let now = 1_700_000_000_000
  const tracker = await withTracker(t, { ttlSec: 30 }, { now: () => now })
  await postJson(`${tracker.url}/api/v1/peers/register`, registerBody(1, 'alice'))
  await postJson(`${tracker.url}/api/v1/peers/register`, registerBody(2, 'bob'))
  now += 20_000
  await postJson(`${tracker.url}/api/v1/peers/register`, registerBody(3, 'alice'))
  const alice = await getJson(`${tracker.url}/api/v1/peers?user_id=alice`)
  t.deepEqual(alice.json.peers.map((p: { peer_id: string }) => p.peer_id).sort(), [fakePeerId(1), fakePeerId(3)].sort())
  t.deepEqual((await getJson(`${tracker.url}/api/v1/peers?user_id=bob`)).json.peers.map((p: { meta: { user_id: string } }) => p.meta.user_id), ['bob'])
  const everyone = await getJson(`${tracker.url}/api/v1/peers?user_id=`)
  t.is(everyone.status, 400, 'a listing of every user is refused')
  t.regex(everyone.json.error, /user_id is required/)
  t.is((await getJson(`${tracker.url}/api/v1/peers`)).status, 400)
  now += 10_000 // peers 1 and 2 are 30 s old: expired
  t.deepEqual((await getJson(`${tracker.url}/api/v1/peers?user_id=alice`)).json.peers.map((p: { peer_id: string }) => p.peer_id), [fakePeerId(3)])
  now += 20_000
  t.deepEqual((await getJson(`${tracker.url}/api/v1/peers?user_id=alice`)).json.peers, [])
})

test('with a token, requests without it get 401 {error: unauthorized} and nothing else; both header styles pass', async (t) => {
  const tracker = await withTracker(t, { token: 's3cret' })
  const refused = [
    await getJson(`${tracker.url}/api/v1/ping`),
    await getJson(`${tracker.url}/api/v1/peers`),
    await getJson(`${tracker.url}/api/v1/peers`, { authorization: 'Bearer wrong' }),
    await getJson(`${tracker.url}/api/v1/peers`, { 'x-rustory-token': 's3cre' }),
    await getJson(`${tracker.url}/no/such/route`),
    await postJson(`${tracker.url}/api/v1/peers/register`, registerBody(1)),
    await postJson(`${tracker.url}/api/v1/peers/register`, 'not json')
  ]
  for (const r of refused) {
    t.is(r.status, 401)
    t.deepEqual(r.json, { error: 'unauthorized' })
  }
  t.is(tracker.registry.size, 0, 'a refused register never lands')
  t.is((await postJson(`${tracker.url}/api/v1/peers/register`, registerBody(1), { authorization: 'Bearer s3cret' })).status, 200)
  t.is((await postJson(`${tracker.url}/api/v1/peers/register`, registerBody(2), { 'x-rustory-token': 's3cret' })).status, 200)
  t.is((await getJson(`${tracker.url}/api/v1/peers?user_id=alice`, { 'x-rustory-token': 's3cret' })).json.peers.length, 2)
  t.is((await getJson(`${tracker.url}/api/v1/ping`, { authorization: 'Bearer s3cret' })).status, 200)
})

const malformed: Array<[string, string, RegExp]> = [
  ['malformed JSON', '{"peer_id":', /malformed JSON/],
  ['a JSON string', '"hello"', /JSON object/],
  ['a missing meta', JSON.stringify({ peer_id: fakePeerId(1), addrs: [] }), /meta is missing/],
  ['a bad peer_id', JSON.stringify({ ...registerBody(1), peer_id: 'abc' }), /peer_id is not a PeerId/],
  ['65 addrs', JSON.stringify({ ...registerBody(1), addrs: Array.from({ length: 65 }, (_, i) => `/ip4/10.0.0.1/tcp/${i + 1}`) }), /at most 64/],
  ['an addr that is a number', JSON.stringify({ ...registerBody(1), addrs: [1] }), /must be a string/],
  ['a meta field of the wrong type', JSON.stringify({ ...registerBody(1), meta: { ...registerBody(1).meta, device_id: false } }), /meta.device_id must be a string/]
]

for (const [name, body, reason] of malformed) {
  test(`register with ${name} is refused with 400 and a reason`, async (t) => {
    const tracker = await withTracker(t)
    const r = await postJson(`${tracker.url}/api/v1/peers/register`, body)
    t.is(r.status, 400)
    t.regex(r.json.error, reason)
    t.is(tracker.registry.size, 0)
  })
}

test('a register body over 64 KiB is refused with 413 before it is read', async (t) => {
  const tracker = await withTracker(t)
  const big = JSON.stringify({ ...registerBody(1), pad: 'x'.repeat(70 * 1024) })
  const r = await postJson(`${tracker.url}/api/v1/peers/register`, big)
  t.is(r.status, 413)
  t.regex(r.json.error, /too large.*65536/)
  // Also when the client lies about nothing and streams it chunked (no Content-Length).
  const status = await new Promise<number>((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port: tracker.address.port, method: 'POST', path: '/api/v1/peers/register', headers: { 'transfer-encoding': 'chunked' } }, (res) => { res.resume(); resolve(res.statusCode!) })
    req.on('error', reject)
    for (let i = 0; i < 10; i++) req.write('x'.repeat(8 * 1024))
    req.end()
  })
  t.is(status, 413)
})

test('unknown routes are 404 and wrong methods 405, each with a reason', async (t) => {
  const tracker = await withTracker(t)
  const missing = await getJson(`${tracker.url}/api/v2/peers`)
  t.is(missing.status, 404)
  t.regex(missing.json.error, /no such route/)
  const wrong = await getJson(`${tracker.url}/api/v1/peers/register`)
  t.is(wrong.status, 405)
  t.regex(wrong.json.error, /not allowed.*POST/)
  const del = await fetch(`${tracker.url}/api/v1/peers`, { method: 'DELETE' })
  t.is(del.status, 405)
  t.is(del.headers.get('allow'), 'GET, HEAD')
})

test('a full tracker answers 503 with Retry-After rather than forgetting live peers', async (t) => {
  const tracker = await withTracker(t, { maxPeers: 2 })
  t.is((await postJson(`${tracker.url}/api/v1/peers/register`, registerBody(1))).status, 200)
  t.is((await postJson(`${tracker.url}/api/v1/peers/register`, registerBody(2))).status, 200)
  const res = await fetch(`${tracker.url}/api/v1/peers/register`, { method: 'POST', body: JSON.stringify(registerBody(3)) })
  t.is(res.status, 503)
  t.truthy(res.headers.get('retry-after'))
  t.is((await postJson(`${tracker.url}/api/v1/peers/register`, registerBody(1))).status, 200, 'renewals still pass')
})

test('a client that sends half its headers and stalls is cut off by the headers timeout', async (t) => {
  const tracker = await withTracker(t, { headersTimeoutMs: 300, requestTimeoutMs: 300 })
  const started = Date.now()
  const closedAfter = await new Promise<number>((resolve, reject) => {
    const socket = connect(tracker.address.port, '127.0.0.1', () => socket.write('GET /api/v1/ping HTTP/1.1\r\nHost: x\r\n'))
    socket.on('error', reject)
    socket.resume()
    socket.on('close', () => resolve(Date.now() - started))
  })
  // Node checks the timeout on a timer of its own (connectionsCheckingInterval, 150 ms here); its default of
  // 30 s would let a stalled client hold the socket for 30 s. The upper bound leaves room for a busy machine.
  t.true(closedAfter >= 250 && closedAfter < 10_000, `closed after ${closedAfter} ms`)
})
