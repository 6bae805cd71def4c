import test from 'ava'
import { InvalidRequestError, isPlausiblePeerId, observedAddr, parseListPeersResponse, parseRegisterRequest } from '../../src/tracker/types.js'
import { fakePeerId, registerBody } from './fixtures.js'

test('observed_addr: IPv4, IPv4-mapped IPv6, IPv6 and zones', (t) => {
  t.is(observedAddr('203.0.113.7', 51234), '/ip4/203.0.113.7/tcp/51234')
  t.is(observedAddr('::ffff:203.0.113.7', 51234), '/ip4/203.0.113.7/tcp/51234')
  t.is(observedAddr('::FFFF:127.0.0.1', 1), '/ip4/127.0.0.1/tcp/1')
  t.is(observedAddr('2001:db8::1', 4001), '/ip6/2001:db8::1/tcp/4001')
  t.is(observedAddr('fe80::1%eth0', 4001), '/ip6/fe80::1/tcp/4001')
  t.is(observedAddr(undefined, 4001), undefined)
})

test('PeerIds: base58btc of plausible length', (t) => {
  t.true(isPlausiblePeerId(fakePeerId(1)))
  t.true(isPlausiblePeerId('QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N'))
  t.true(isPlausiblePeerId('16Uiu2HAmQ8h3fn4ZGPvH1t3hAXnu2w1NMy7wHyGS9PwPdnt4wJvk'))
  t.false(isPlausiblePeerId('12D3KooW0OIl'), 'too short and 0/O/I/l are not base58')
  t.false(isPlausiblePeerId(`12D3KooW${'0'.repeat(44)}`), '0 is not base58btc')
  t.false(isPlausiblePeerId('x'.repeat(200)))
  t.false(isPlausiblePeerId(42))
})

const bad: Array<[string, unknown, RegExp]> = [
  ['not an object', [1, 2], /JSON object/],
  ['null', null, /JSON object/],
  ['peer_id missing', { addrs: [], meta: registerBody(1).meta }, /peer_id is missing/],
  ['addrs missing', { peer_id: fakePeerId(1), meta: registerBody(1).meta }, /addrs is missing/],
  ['meta missing', { peer_id: fakePeerId(1), addrs: [] }, /meta is missing/],
  ['peer_id a number', { ...registerBody(1), peer_id: 12 }, /peer_id must be a string/],
  ['peer_id not base58', { ...registerBody(1), peer_id: 'not a peer id at all, really not!!' }, /peer_id is not a PeerId/],
  ['addrs a string', { ...registerBody(1), addrs: '/ip4/1.2.3.4/tcp/1' }, /addrs must be an array/],
  ['65 addrs', { ...registerBody(1), addrs: Array.from({ length: 65 }, (_, i) => `/ip4/10.0.0.1/tcp/${i + 1}`) }, /65 addresses; at most 64/],
  ['addr not a string', { ...registerBody(1), addrs: [7] }, /addrs\[0\] must be a string/],
  ['addr not a multiaddr', { ...registerBody(1), addrs: ['1.2.3.4:80'] }, /addrs\[0\] is not a multiaddr/],
  ['addr too long', { ...registerBody(1), addrs: [`/dns4/${'a'.repeat(2000)}/tcp/1`] }, /addrs\[0\] is longer/],
  ['meta an array', { ...registerBody(1), meta: [] }, /meta must be an object/],
  ['meta.user_id missing', { ...registerBody(1), meta: { device_id: 'd', hostname: 'h', version: 'v' } }, /meta.user_id must be a string/],
  ['meta.version a number', { ...registerBody(1), meta: { ...registerBody(1).meta, version: 1 } }, /meta.version must be a string/],
  ['meta.hostname too long', { ...registerBody(1), meta: { ...registerBody(1).meta, hostname: 'h'.repeat(300) } }, /meta.hostname is longer/]
]

for (const [name, body, reason] of bad) {
  test(`register request refused: ${name}`, (t) => {
    const err = t.throws(() => parseRegisterRequest(body), { instanceOf: InvalidRequestError })
    t.regex(err!.message, reason)
  })
}

test('a valid register request keeps only the spec fields and drops duplicate addrs', (t) => {
  const body = { ...registerBody(1), addrs: ['/ip4/1.2.3.4/tcp/1', '/ip4/1.2.3.4/tcp/1'], extra: 'ignored' }
  t.deepEqual(parseRegisterRequest(body), { ...registerBody(1), addrs: ['/ip4/1.2.3.4/tcp/1'] })
})

test('a peer list answer drops malformed peers but keeps the good ones', (t) => {
  const good = { ...registerBody(1), last_seen_unix: 1_700_000_000 }
  const answer = { peers: [good, { ...good, peer_id: 'bad' }, { ...good, last_seen_unix: -1 }, 'junk'] }
  const fail = (msg: string): never => { throw new Error(msg) }
  t.deepEqual(parseListPeersResponse(answer, fail), { peers: [good], dropped: 3 })
  t.throws(() => parseListPeersResponse({ peers: 'x' }, fail), { message: /not \{peers/ })
})
