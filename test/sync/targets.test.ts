import test from 'ava'
import type { PeerTarget } from '../../src/sync/types.js'
import { peerIdOf } from '../../src/p2p/index.js'
import { targetFromPeer, targetsFromMultiaddrs, targetsFromPeers, type KnownPeer } from '../../src/sync/targets.js'

const A = '12D3KooWAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA'
const B = '12D3KooWBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB'
const R = '12D3KooWRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRRR'
const relay = `/ip4/10.0.0.9/tcp/4001/p2p/${R}`

const peerTable: Array<[string, KnownPeer, string | undefined, PeerTarget | undefined]> = [
  ['an address without /p2p gets the peer\'s id appended', { peer_id: A, addrs: ['/ip4/10.0.0.1/tcp/4001'] }, undefined,
    { key: A, peerId: A, addrs: [`/ip4/10.0.0.1/tcp/4001/p2p/${A}`], source: 'tracker' }],
  ['an address already ending in the peer\'s id is kept as is, once', { peer_id: A, addrs: [`/ip4/10.0.0.1/tcp/4001/p2p/${A}`, '/ip4/10.0.0.1/tcp/4001'] }, undefined,
    { key: A, peerId: A, addrs: [`/ip4/10.0.0.1/tcp/4001/p2p/${A}`], source: 'tracker' }],
  ['an address naming another peer is dropped', { peer_id: A, addrs: [`/ip4/10.0.0.1/tcp/4001/p2p/${B}`, '/ip4/10.0.0.2/tcp/1'] }, undefined,
    { key: A, peerId: A, addrs: [`/ip4/10.0.0.2/tcp/1/p2p/${A}`], source: 'tracker' }],
  ['unspecified addresses (0.0.0.0, ::) and junk are dropped', { peer_id: A, addrs: ['/ip4/0.0.0.0/tcp/4001', '/ip6/::/tcp/4001', 'garbage', ' /ip4/10.0.0.1/tcp/2 '] }, undefined,
    { key: A, peerId: A, addrs: [`/ip4/10.0.0.1/tcp/2/p2p/${A}`], source: 'tracker' }],
  ['a circuit address gives the relay to fall back to, not a direct address', { peer_id: A, addrs: [`${relay}/p2p-circuit/p2p/${A}`] }, undefined,
    { key: A, peerId: A, addrs: [], relayAddr: relay, source: 'tracker' }],
  ['the peer\'s own relay wins over the fallback', { peer_id: A, addrs: [`${relay}/p2p-circuit/p2p/${A}`] }, `/ip4/10.0.0.8/tcp/4001/p2p/${B}`,
    { key: A, peerId: A, addrs: [], relayAddr: relay, source: 'tracker' }],
  ['a peer with only unusable addresses falls back to the given relay', { peer_id: A, addrs: ['/ip4/0.0.0.0/tcp/1'] }, relay,
    { key: A, peerId: A, addrs: [], relayAddr: relay, source: 'tracker' }],
  ['a circuit address whose relay has no id is no relay', { peer_id: A, addrs: [`/ip4/10.0.0.9/tcp/4001/p2p-circuit/p2p/${A}`] }, undefined, undefined],
  ['nothing to dial at all: no target', { peer_id: A, addrs: [] }, undefined, undefined],
  ['device id and hostname travel with the target', { peer_id: A, addrs: ['/ip4/10.0.0.1/tcp/1'], device_id: 'dev', hostname: 'laptop' }, undefined,
    { key: A, peerId: A, addrs: [`/ip4/10.0.0.1/tcp/1/p2p/${A}`], source: 'tracker', device_id: 'dev', hostname: 'laptop' }]
]

for (const [name, peer, fallback, expected] of peerTable) {
  test(`target from a peer: ${name}`, (t) => {
    t.deepEqual(targetFromPeer(peer, 'tracker', fallback), expected)
  })
}

test('targets from peers skip ourselves and later duplicates, and keep the order', (t) => {
  const peers: KnownPeer[] = [
    { peer_id: B, addrs: ['/ip4/10.0.0.2/tcp/1'] },
    { peer_id: A, addrs: ['/ip4/10.0.0.1/tcp/1'] },
    { peer_id: B, addrs: ['/ip4/10.0.0.3/tcp/1'] },
    { peer_id: R, addrs: [] }
  ]
  const targets = targetsFromPeers(peers, 'peer_book', new Set([A]))
  t.deepEqual(targets.map((x) => [x.peerId, x.addrs, x.source]), [[B, [`/ip4/10.0.0.2/tcp/1/p2p/${B}`], 'peer_book']])
})

const multiaddrTable: Array<[string, string[], string | undefined, Array<[string, string[], string | undefined]>]> = [
  ['one address, one target', [`/ip4/10.0.0.1/tcp/1/p2p/${A}`], undefined, [[A, [`/ip4/10.0.0.1/tcp/1/p2p/${A}`], undefined]]],
  ['two addresses of one peer make one target, tried in the given order',
    [`/ip4/10.0.0.2/tcp/1/p2p/${A}`, `/ip4/10.0.0.1/tcp/1/p2p/${A}`], undefined,
    [[A, [`/ip4/10.0.0.2/tcp/1/p2p/${A}`, `/ip4/10.0.0.1/tcp/1/p2p/${A}`], undefined]]],
  ['two peers make two targets in first-seen order, each with the relay',
    [`/ip4/10.0.0.2/tcp/1/p2p/${B}`, `/ip4/10.0.0.1/tcp/1/p2p/${A}`, `/ip4/10.0.0.3/tcp/1/p2p/${B}`], relay,
    [[B, [`/ip4/10.0.0.2/tcp/1/p2p/${B}`, `/ip4/10.0.0.3/tcp/1/p2p/${B}`], relay], [A, [`/ip4/10.0.0.1/tcp/1/p2p/${A}`], relay]]],
  ['a circuit address belongs to the peer at its end', [`${relay}/p2p-circuit/p2p/${A}`], undefined, [[A, [`${relay}/p2p-circuit/p2p/${A}`], undefined]]],
  ['no addresses, no targets', [], relay, []]
]

for (const [name, addrs, relayAddr, expected] of multiaddrTable) {
  test(`targets from --peers: ${name}`, (t) => {
    const targets = targetsFromMultiaddrs(addrs, peerIdOf, relayAddr)
    t.deepEqual(targets.map((x) => [x.peerId, x.addrs, x.relayAddr]), expected)
    for (const x of targets) t.is(x.source, 'peers')
  })
}

test('targets from --peers: an address without /p2p is refused for good, naming the fix', (t) => {
  const err = t.throws(() => targetsFromMultiaddrs(['/ip4/10.0.0.1/tcp/1'], peerIdOf))
  t.is(err?.name, 'DialError')
  t.true((err as { permanent?: boolean }).permanent)
  t.regex(err!.message, /no \/p2p\/<peer_id> part/)
})
