/**
 * Two peers each behind its own NAT router (iptables MASQUERADE), a "public" namespace between the routers with
 * the relay and the tracker. The public side uses 100.199.0.0/16: libp2p counts it as public (100.64.0.0/10 ends at
 * 100.127), so DCUtR will try it, yet it exists only inside the test's namespaces (none has a default route, none
 * touches the host's interfaces). Records whether DCUtR upgraded the relayed connection; sync must complete either
 * way.
 */
import { join } from 'node:path'
import test from 'ava'
import { loadSwarmKey, trackerUserId } from '../../src/config/keys.js'
import { isolatedEnv } from '../helpers/cli.js'
import { device } from '../helpers/peers.js'
import { netLab, type NetLab } from '../helpers/netns.js'
import { tempDir } from '../helpers/tmp.js'

/** peer (10.199.n.2) — router (10.199.n.1 | 100.199.n.2, MASQUERADE) — pub (100.199.n.1). */
async function natSite (lab: NetLab, pub: string, n: number): Promise<{ peer: string, router: string }> {
  const router = await lab.addNamespace(`r${n}`)
  const peer = await lab.addNamespace(`p${n}`)
  const [, wan] = await lab.link(pub, `100.199.${n}.1/24`, router, `100.199.${n}.2/24`)
  await lab.link(router, `10.199.${n}.1/24`, peer, `10.199.${n}.2/24`)
  await lab.forwarding(router)
  await lab.masquerade(router, wan)
  await lab.route(router, '100.199.0.0/16', `100.199.${n}.1`)
  await lab.route(peer, '100.199.0.0/16', `10.199.${n}.1`)
  return { peer, router }
}

test('behind two NAT routers: the tracker tells each peer its public address, sync completes (DCUtR outcome logged)', async (t) => {
  t.timeout(150_000)
  const lab = await netLab(t, { nat: true })
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  const pub = await lab.addNamespace('pub')
  // The "internet": routes between the two routers' public sides.
  await lab.forwarding(pub)
  const siteA = await natSite(lab, pub, 1)
  const siteB = await natSite(lab, pub, 2)
  const privateUnreachable = await lab.exec(siteB.peer, ['ip', 'route', 'get', '10.199.1.2'])
  t.not(privateUnreachable.code, 0, 'B has no route to A\'s private address')

  const a = device(t, dir, 'devA', swarm)
  const b = device(t, dir, 'devB', swarm)
  const idsA = await a.record(3)
  const idsB = await b.record(2)

  const relay = lab.rr(pub, ['relay-serve', '--listen', '/ip4/0.0.0.0/tcp/4001'], isolatedEnv(join(dir, 'relay'), { RUSTORY_SWARM_KEY_PATH: swarm }))
  const relayId = (await relay.waitFor(/relay listen: \/ip4\/100\.199\.1\.1\/tcp\/4001\/p2p\/(\w+)/))[1]!
  const tracker = lab.rr(pub, ['tracker-serve', '--bind', '0.0.0.0:8850', '--ttl-sec', '30'], isolatedEnv(join(dir, 'tracker')))
  await tracker.waitFor(/tracker listen: /)

  const serveA = lab.rr(siteA.peer, ['--db-path', a.dbPath, 'p2p-serve', '--listen', '/ip4/0.0.0.0/tcp/8845',
    '--relay', `/ip4/100.199.1.1/tcp/4001/p2p/${relayId}`, '--trackers', 'http://100.199.1.1:8850'], { ...a.env, DEBUG: 'libp2p:dcutr*' })
  const peerA = (await serveA.waitFor(/p2p listen: \/ip4\/10\.199\.1\.2\/tcp\/8845\/p2p\/(\w+)/))[1]!
  // The tracker saw A's router (MASQUERADE) and A now offers that address with its listen port.
  await serveA.waitFor(/tracker: registered with http:\/\/100\.199\.1\.1:8850 as \w+: \d+ addrs \(\d+ via relay\), ttl 30 s, observed \/ip4\/100\.199\.1\.2\/tcp\/\d+/)
  await serveA.waitFor(/p2p: external address candidate from a tracker: \/ip4\/100\.199\.1\.2\/tcp\/8845/)
  const listed = await lab.exec(siteB.peer, [process.execPath, '-e', `fetch("http://100.199.2.1:8850/api/v1/peers?user_id=${encodeURIComponent(trackerUserId({ userId: '', userIdConfigured: false }, loadSwarmKey(swarm)))}").then(r => r.text()).then(t => process.stdout.write(t))`])
  t.is(listed.code, 0, listed.stderr)
  const record = (JSON.parse(listed.stdout) as { peers: Array<{ peer_id: string, addrs: string[] }> }).peers.find((p) => p.peer_id === peerA)
  t.truthy(record)
  const deadline = Date.now() + 15_000
  let addrs = record!.addrs
  while (!addrs.includes(`/ip4/100.199.1.2/tcp/8845/p2p/${peerA}`) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 500))
    const again = await lab.exec(siteB.peer, [process.execPath, '-e', `fetch("http://100.199.2.1:8850/api/v1/peers?user_id=${encodeURIComponent(trackerUserId({ userId: '', userIdConfigured: false }, loadSwarmKey(swarm)))}").then(r => r.text()).then(t => process.stdout.write(t))`])
    addrs = (JSON.parse(again.stdout) as { peers: Array<{ peer_id: string, addrs: string[] }> }).peers.find((p) => p.peer_id === peerA)?.addrs ?? []
  }
  t.true(addrs.includes(`/ip4/100.199.1.2/tcp/8845/p2p/${peerA}`), `A registers its public candidate: ${addrs.join(' ')}`)
  t.true(addrs.some((addr) => addr.includes('/p2p-circuit/')), 'and its relay address')

  // B dials A's public candidate (the router has no port forward: refused), then the relay.
  const sync = lab.rr(siteB.peer, ['--db-path', b.dbPath, 'p2p-sync', '--push',
    '--peers', `/ip4/100.199.1.2/tcp/8845/p2p/${peerA}`, '--relay', `/ip4/100.199.2.1/tcp/4001/p2p/${relayId}`], b.env)
  const code = await sync.exited(90_000)
  const log = sync.output()
  // Give A's side of DCUtR (it received the relayed connection, so it starts the upgrade) time to log its outcome.
  await serveA.waitFor(/libp2p:dcutr.*(succeeded|error while attempting DCUtR on attempt 3|failed)/, 25_000).catch(() => undefined)
  const dcutrLines = [...log.split('\n').filter((l) => /dcutr:/.test(l)), ...serveA.output().split('\n').filter((l) => /libp2p:dcutr/.test(l)).map((l) => `A: ${l.replace(/^\s*\S+\s+/, '')}`)]
  t.log(log.split('\n').filter((l) => /dial:|sync:/.test(l)).join('\n'))
  t.log(`DCUtR ${/dcutr: upgraded to direct/.test(log) ? 'UPGRADED' : 'did not upgrade'}:\n${dcutrLines.join('\n')}`)
  t.is(code, 0, log)
  t.regex(log, /dial: direct attempt \d\/\d peer=\w+ addr=\/ip4\/100\.199\.1\.2\/tcp\/8845\/p2p\/\w+: failed/)
  t.regex(log, /sync: peer=\w+ ok path=(relay|dcutr) pulled=3 inserted=3 pushed=2/)
  const union = [...idsA, ...idsB].sort()
  t.deepEqual(b.entryIds(), union)
  t.deepEqual(a.entryIds(), union)
})
