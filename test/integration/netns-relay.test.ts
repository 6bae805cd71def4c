/**
 * Peers that cannot reach each other directly, only a relay: each in its own network namespace, linked only to a
 * "public" namespace that holds the relay and the tracker and does not forward between them.
 */
import { join } from 'node:path'
import test from 'ava'
import { loadSwarmKey, trackerUserId } from '../../src/config/keys.js'
import { isolatedEnv } from '../helpers/cli.js'
import { device } from '../helpers/peers.js'
import { netLab } from '../helpers/netns.js'
import { tempDir } from '../helpers/tmp.js'

test('when only the relay is reachable, sync goes through it after the direct dial fails', async (t) => {
  t.timeout(120_000)
  const lab = await netLab(t)
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  const pub = await lab.addNamespace('pub')
  const nsA = await lab.addNamespace('a')
  const nsB = await lab.addNamespace('b')
  // pub has 10.199.1.1 towards A and 10.199.2.1 towards B and forwards nothing; A and B know only their own link.
  await lab.link(pub, '10.199.1.1/24', nsA, '10.199.1.2/24')
  await lab.link(pub, '10.199.2.1/24', nsB, '10.199.2.2/24')
  const unreachable = await lab.exec(nsB, ['ip', 'route', 'get', '10.199.1.2'])
  t.not(unreachable.code, 0, `B must have no route to A: ${unreachable.stdout}`)

  const a = device(t, dir, 'devA', swarm)
  const b = device(t, dir, 'devB', swarm)
  const idsA = await a.record(4)
  const idsB = await b.record(2)

  const relayHome = join(dir, 'relay')
  const relay = lab.rr(pub, ['relay-serve', '--listen', '/ip4/0.0.0.0/tcp/4001'], isolatedEnv(relayHome, { RUSTORY_SWARM_KEY_PATH: swarm }))
  const relayId = (await relay.waitFor(/relay listen: \/ip4\/10\.199\.1\.1\/tcp\/4001\/p2p\/(\w+)/))[1]!
  const tracker = lab.rr(pub, ['tracker-serve', '--bind', '0.0.0.0:8850', '--ttl-sec', '30'], isolatedEnv(join(dir, 'tracker')))
  await tracker.waitFor(/tracker listen: /)

  const serveA = lab.rr(nsA, ['--db-path', a.dbPath, 'p2p-serve', '--listen', '/ip4/0.0.0.0/tcp/8845',
    '--relay', `/ip4/10.199.1.1/tcp/4001/p2p/${relayId}`, '--trackers', 'http://10.199.1.1:8850'], a.env)
  const peerA = (await serveA.waitFor(/p2p listen: \/ip4\/10\.199\.1\.2\/tcp\/8845\/p2p\/(\w+)/))[1]!
  await serveA.waitFor(/p2p listen: \/ip4\/10\.199\.1\.1\/tcp\/4001\/p2p\/\w+\/p2p-circuit\/p2p\/\w+/)
  await serveA.waitFor(/tracker: registered with http:\/\/10\.199\.1\.1:8850 as \w+: \d+ addrs \(\d+ via relay\)/)
  // What the tracker holds for A, read from B's side of the network (B can reach the tracker, not A).
  const listed = await lab.exec(nsB, [process.execPath, '-e', `fetch("http://10.199.2.1:8850/api/v1/peers?user_id=${encodeURIComponent(trackerUserId({ userId: '', userIdConfigured: false }, loadSwarmKey(swarm)))}").then(r => r.text()).then(t => process.stdout.write(t))`])
  const peers = (JSON.parse(listed.stdout) as { peers: Array<{ peer_id: string, addrs: string[] }> }).peers
  t.deepEqual(peers.map((p) => p.peer_id), [peerA])
  t.true(peers[0]!.addrs.some((addr) => addr.includes(`/p2p/${relayId}/p2p-circuit/p2p/${peerA}`)), peers[0]!.addrs.join(' '))

  const started = Date.now()
  const sync = lab.rr(nsB, ['--db-path', b.dbPath, 'p2p-sync', '--push',
    '--peers', `/ip4/10.199.1.2/tcp/8845/p2p/${peerA}`, '--relay', `/ip4/10.199.2.1/tcp/4001/p2p/${relayId}`], b.env)
  const code = await sync.exited(90_000)
  const log = sync.output()
  t.log(`sync took ${Date.now() - started} ms`)
  t.log(log.split('\n').filter((l) => /dial:|sync:|dcutr:/.test(l)).join('\n'))
  t.is(code, 0, log)
  const directFailed = log.search(/dial: direct attempt \d\/\d peer=\w+ addr=\/ip4\/10\.199\.1\.2\/tcp\/8845\/p2p\/\w+: failed/)
  const relayOk = log.search(new RegExp(`dial: relay attempt \\d/\\d peer=${peerA} addr=/ip4/10\\.199\\.2\\.1/tcp/4001/p2p/${relayId}\\S*: ok`))
  t.true(directFailed >= 0, 'a failed direct dial is logged')
  t.true(relayOk > directFailed, 'the relay dial comes after the direct one failed')
  t.regex(log, /sync: peer=\w+ ok path=relay pulled=4 inserted=4 pushed=2/)
  const union = [...idsA, ...idsB].sort()
  t.deepEqual(b.entryIds(), union)
  t.deepEqual(a.entryIds(), union)
})
