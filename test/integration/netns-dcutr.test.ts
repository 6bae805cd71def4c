/**
 * Hole punching, topology by topology, in network namespaces with no route out. The "public" segment (relay and
 * tracker, namespace `pub`) uses 100.199.0.0/16: libp2p counts it as public (100.64.0.0/10 ends at 100.127), so
 * DCUtR will try it, yet it exists only inside the test's namespaces. A device behind NAT sits at 10.199.n.2 behind a
 * router doing iptables MASQUERADE (port-preserving when it can, like a home router) or MASQUERADE --random-fully.
 * `p2p-serve` (device A) receives the relayed connection, so it drives DCUtR; `p2p-sync` (device B) answers.
 */
import { spawn } from 'node:child_process'
import { createWriteStream } from 'node:fs'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { isolatedEnv } from '../helpers/cli.js'
import { device, type Device } from '../helpers/peers.js'
import { netLab, type NetLab, type Spawned } from '../helpers/netns.js'
import { tempDir } from '../helpers/tmp.js'

/** peer (10.199.n.2) — router (10.199.n.1 | 100.199.n.2, MASQUERADE) — pub (100.199.n.1). */
async function natSite (lab: NetLab, pub: string, n: number, nat: 'preserving' | 'random'): Promise<{ peer: string, router: string, publicIp: string }> {
  const router = await lab.addNamespace(`r${n}`)
  const peer = await lab.addNamespace(`p${n}`)
  const [, wan] = await lab.link(pub, `100.199.${n}.1/24`, router, `100.199.${n}.2/24`)
  await lab.link(router, `10.199.${n}.1/24`, peer, `10.199.${n}.2/24`)
  await lab.forwarding(router)
  if (nat === 'preserving') await lab.masquerade(router, wan)
  else {
    const rule = await lab.exec(router, ['iptables', '-t', 'nat', '-A', 'POSTROUTING', '-o', wan, '-j', 'MASQUERADE', '--random-fully'])
    if (rule.code !== 0) throw new Error(`iptables MASQUERADE --random-fully: ${rule.stderr}`)
  }
  // A home router's firewall: unsolicited connections from the internet are dropped, not refused. A router that
  // answers them with RST defeats the punch whenever one side's SYN reaches the other router before that side's own
  // SYN has left it (always, here: no latency): both sides then saw ECONNREFUSED on all 3 DCUtR attempts.
  const drop = await lab.exec(router, ['iptables', '-A', 'INPUT', '-i', wan, '-p', 'tcp', '-m', 'conntrack', '--ctstate', 'NEW', '-j', 'DROP'])
  if (drop.code !== 0) throw new Error(`iptables INPUT DROP: ${drop.stderr}`)
  await lab.route(router, '100.199.0.0/16', `100.199.${n}.1`)
  await lab.route(peer, '100.199.0.0/16', `10.199.${n}.1`)
  return { peer, router, publicIp: `100.199.${n}.2` }
}

/** A device straight on the public segment: 100.199.n.2, no NAT. */
async function publicSite (lab: NetLab, pub: string, n: number): Promise<{ peer: string, publicIp: string }> {
  const peer = await lab.addNamespace(`p${n}`)
  await lab.link(pub, `100.199.${n}.1/24`, peer, `100.199.${n}.2/24`)
  await lab.route(peer, '100.199.0.0/16', `100.199.${n}.1`)
  return { peer, publicIp: `100.199.${n}.2` }
}

/** A process start on this shared, loaded 2-vCPU machine was seen to take over 30 s. */
const startupMs = 90_000

interface World {
  lab: NetLab
  dir: string
  swarm: string
  pub: string
  relayId: string
  a: Device
  b: Device
  idsA: string[]
  idsB: string[]
}

/** The public segment with the relay and the tracker, and two devices with a few entries each. */
async function world (t: ExecutionContext): Promise<World> {
  const lab = await netLab(t, { nat: true })
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  const pub = await lab.addNamespace('pub')
  // The "internet": routes between the sites' public sides.
  await lab.forwarding(pub)
  const a = device(t, dir, 'devA', swarm)
  const b = device(t, dir, 'devB', swarm)
  const idsA = await a.record(3)
  const idsB = await b.record(2)
  // pub's address on the first link (100.199.1.1) exists once the first site is linked; bind to all.
  return { lab, dir, swarm, pub, relayId: '', a, b, idsA, idsB }
}

async function startRelayAndTracker (w: World, relayIp = '100.199.1.1'): Promise<void> {
  const relay = w.lab.rr(w.pub, ['relay-serve', '--listen', '/ip4/0.0.0.0/tcp/4001'], isolatedEnv(join(w.dir, 'relay'), { RUSTORY_SWARM_KEY_PATH: w.swarm }))
  w.relayId = (await relay.waitFor(new RegExp(`relay listen: /ip4/${relayIp.replaceAll('.', '\\.')}/tcp/4001/p2p/(\\w+)`), startupMs))[1]!
  const tracker = w.lab.rr(w.pub, ['tracker-serve', '--bind', '0.0.0.0:8850', '--ttl-sec', '30'], isolatedEnv(join(w.dir, 'tracker')))
  await tracker.waitFor(/tracker listen: /, startupMs)
}

/** `rr p2p-serve` for device A in `ns`, registered with the tracker and reserved on the relay; returns its PeerId. */
async function serveA (w: World, ns: string, pubIp: string): Promise<{ serve: Spawned, peerA: string }> {
  const serve = w.lab.rr(ns, ['--db-path', w.a.dbPath, 'p2p-serve', '--listen', '/ip4/0.0.0.0/tcp/8845',
    '--relay', `/ip4/${pubIp}/tcp/4001/p2p/${w.relayId}`, '--trackers', `http://${pubIp}:8850`], { ...w.a.env, DEBUG: 'libp2p:dcutr*' })
  const peerA = (await serve.waitFor(/p2p listen: \/ip4\/[\d.]+\/tcp\/8845\/p2p\/(\w+)/, startupMs))[1]!
  await serve.waitFor(/p2p listen: \S+\/p2p-circuit\/p2p\/\w+/, startupMs)
  await serve.waitFor(/tracker: registered with /, startupMs)
  return { serve, peerA }
}

function dcutrLines (output: string): string {
  return output.split('\n').filter((l) => /dcutr|dial:|sync:|p2p: /.test(l) && !/^\s*\S+ libp2p:dcutr:trace/.test(l)).join('\n')
}

function assertConverged (t: ExecutionContext, w: World): void {
  const union = [...w.idsA, ...w.idsB].sort()
  t.deepEqual(w.b.entryIds(), union, 'B has every entry')
  t.deepEqual(w.a.entryIds(), union, 'A has every entry')
}

test('both devices behind port-preserving NATs: DCUtR punches through and the round runs direct', async (t) => {
  t.timeout(300_000)
  const w = await world(t)
  const siteA = await natSite(w.lab, w.pub, 1, 'preserving')
  const siteB = await natSite(w.lab, w.pub, 2, 'preserving')
  const privateUnreachable = await w.lab.exec(siteB.peer, ['ip', 'route', 'get', '10.199.1.2'])
  t.not(privateUnreachable.code, 0, 'B has no route to A\'s private address')
  await startRelayAndTracker(w)
  if (process.env.RR_TCPDUMP != null) {
    for (const ns of [siteA.router, siteB.router]) {
      const dump = spawn('ip', ['netns', 'exec', ns, 'tcpdump', '-i', 'any', '-n', '-l', '-tt', 'tcp and not port 4001 and not port 8850'], { stdio: ['ignore', 'pipe', 'ignore'] })
      const file = createWriteStream(`${process.env.RR_TCPDUMP}-${ns}.txt`)
      dump.stdout.pipe(file)
      t.teardown(() => { dump.kill() })
    }
  }
  const { serve, peerA } = await serveA(w, siteA.peer, '100.199.1.1')
  // A dialed the relay from its listen port; the relay saw A's router (MASQUERADE kept the port): A's public address.
  await serve.waitFor(/p2p: public address from identify: \/ip4\/100\.199\.1\.2\/tcp\/8845 /, startupMs)

  // B first dials A's public candidate (no port forward: refused), then the relay; A then runs DCUtR.
  const sync = w.lab.rr(siteB.peer, ['--db-path', w.b.dbPath, 'p2p-sync', '--push', '--listen', '/ip4/0.0.0.0/tcp/7001',
    '--peers', `/ip4/100.199.1.2/tcp/8845/p2p/${peerA}`, '--relay', `/ip4/100.199.2.1/tcp/4001/p2p/${w.relayId}`], w.b.env)
  const code = await sync.exited(180_000)
  const log = sync.output()
  t.log(`B:\n${dcutrLines(log)}\nA:\n${dcutrLines(serve.output())}`)
  t.is(code, 0, log)
  // B learned its public address from the relay's identify (it dialed the relay from its listen port).
  t.regex(log, /p2p: public address from identify: \/ip4\/100\.199\.2\.2\/tcp\/7001/)
  t.regex(log, /dial: direct attempt \d\/\d peer=\w+ addr=\/ip4\/100\.199\.1\.2\/tcp\/8845\/p2p\/\w+: failed/)
  // DCUtR's outcome on both sides, and the round (pull and push) on the direct connection.
  const upgradedB = log.match(new RegExp(`dcutr: upgraded to direct: peer=${peerA} connection_id=(\\S+)`))
  t.truthy(upgradedB, 'B logs the upgrade')
  const peerB = (await serve.waitFor(/dcutr: upgraded to direct: peer=(\w+) connection_id=\S+/, 10_000))[1]
  t.truthy(peerB, 'A logs the upgrade')
  t.notRegex(log, /dcutr: upgrade failed/)
  t.regex(log, new RegExp(`dcutr: relayed connection \\S+ to ${peerA} closed`))
  t.regex(log, /sync: peer=\w+ ok path=dcutr pulled=3 inserted=3 pushed=2/)
  assertConverged(t, w)
})

/**
 * `rr p2p-sync --push` for device B in `ns`, listening on 7001: `peerAddr` first, then the relay. Rows other than the
 * first give the relayed address itself as `peerAddr`, skipping 3 direct attempts that a NAT drops (15 s).
 */
async function syncB (w: World, ns: string, peerAddr: string, relayIp: string): Promise<{ code: number | null, log: string }> {
  const sync = w.lab.rr(ns, ['--db-path', w.b.dbPath, 'p2p-sync', '--push', '--listen', '/ip4/0.0.0.0/tcp/7001',
    '--peers', peerAddr, '--relay', `/ip4/${relayIp}/tcp/4001/p2p/${w.relayId}`], w.b.env)
  const code = await sync.exited(180_000)
  return { code, log: sync.output() }
}

test("one device behind NAT, the other public: DCUtR's unilateral dial reaches the public one and the round runs direct", async (t) => {
  t.timeout(300_000)
  const w = await world(t)
  const siteA = await natSite(w.lab, w.pub, 1, 'preserving')
  const siteB = await publicSite(w.lab, w.pub, 2)
  await startRelayAndTracker(w)
  const { serve, peerA } = await serveA(w, siteA.peer, '100.199.1.1')
  await serve.waitFor(/p2p: public address from identify: \/ip4\/100\.199\.1\.2\/tcp\/8845 /, startupMs)
  const { code, log } = await syncB(w, siteB.peer, `/ip4/100.199.2.1/tcp/4001/p2p/${w.relayId}/p2p-circuit/p2p/${peerA}`, '100.199.2.1')
  t.log(`B:\n${dcutrLines(log)}\nA:\n${dcutrLines(serve.output())}`)
  t.is(code, 0, log)
  // A (behind NAT) dialed B's public address itself: DCUtR's unilateral upgrade, seen on both sides.
  const peerB = (await serve.waitFor(/dcutr: upgraded to direct: peer=(\w+) connection_id=\S+/, 10_000))[1]
  t.truthy(peerB)
  t.regex(serve.output(), /libp2p:dcutr unilateral connection upgrade to \w+ succeeded via \/ip4\/100\.199\.2\.2\/tcp\/7001/)
  t.regex(log, new RegExp(`dcutr: upgraded to direct: peer=${peerA} connection_id=\\S+`))
  t.notRegex(log, /dcutr: upgrade failed/)
  t.regex(log, /sync: peer=\w+ ok path=dcutr pulled=3 inserted=3 pushed=2/)
  assertConverged(t, w)
})

test("one device behind a NAT that randomises ports (--random-fully): the round stays on the relay, with DCUtR's own failure", async (t) => {
  t.timeout(300_000)
  const w = await world(t)
  const siteA = await natSite(w.lab, w.pub, 1, 'preserving')
  const siteB = await natSite(w.lab, w.pub, 2, 'random')
  await startRelayAndTracker(w)
  const { serve, peerA } = await serveA(w, siteA.peer, '100.199.1.1')
  await serve.waitFor(/p2p: public address from identify: \/ip4\/100\.199\.1\.2\/tcp\/8845 /, startupMs)
  const { code, log } = await syncB(w, siteB.peer, `/ip4/100.199.2.1/tcp/4001/p2p/${w.relayId}/p2p-circuit/p2p/${peerA}`, '100.199.2.1')
  t.log(`B:\n${dcutrLines(log)}\nA:\n${dcutrLines(serve.output())}`)
  t.is(code, 0, log)
  // A drove DCUtR: its unilateral dial and all 3 simultaneous opens failed; the line carries DCUtR's last error.
  const failedA = (await serve.waitFor(/dcutr: upgrade failed: peer=(\w+) error=(error while attempting DCUtR on attempt 3 of 3 - .+)/, 30_000))
  t.log(`A's reason: ${failedA[2]!}`)
  t.notRegex(serve.output(), /dcutr: upgraded to direct/)
  // B answered each attempt; its line carries the reason of the attempt it saw fail.
  t.regex(log, new RegExp(`dcutr: upgrade failed: peer=${peerA} error=\\S.+`))
  t.notRegex(log, /dcutr: upgraded to direct/)
  t.regex(log, /sync: peer=\w+ ok path=relay pulled=3 inserted=3 pushed=2/)
  assertConverged(t, w)
})

test('two devices on the same LAN: the direct dial works, the relay is never used', async (t) => {
  t.timeout(300_000)
  const w = await world(t)
  // One switch (a bridge in pub) with the relay's side at 10.199.9.1 and both devices on it.
  const must = async (ns: string, args: string[]): Promise<void> => {
    const r = await w.lab.exec(ns, ['ip', ...args])
    if (r.code !== 0) throw new Error(`ip ${args.join(' ')} in ${ns}: ${r.stderr}`)
  }
  await must(w.pub, ['link', 'add', 'br0', 'type', 'bridge'])
  await must(w.pub, ['addr', 'add', '10.199.9.1/24', 'dev', 'br0'])
  await must(w.pub, ['link', 'set', 'br0', 'up'])
  const hosts: string[] = []
  for (const [i, name] of ['la', 'lb'].entries()) {
    const ns = await w.lab.addNamespace(name)
    await must(w.pub, ['link', 'add', `lan${name}`, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns])
    await must(w.pub, ['link', 'set', `lan${name}`, 'master', 'br0'])
    await must(w.pub, ['link', 'set', `lan${name}`, 'up'])
    await must(ns, ['addr', 'add', `10.199.9.${i + 2}/24`, 'dev', 'eth0'])
    await must(ns, ['link', 'set', 'eth0', 'up'])
    hosts.push(ns)
  }
  await startRelayAndTracker(w, '10.199.9.1')
  const { serve, peerA } = await serveA(w, hosts[0]!, '10.199.9.1')
  const { code, log } = await syncB(w, hosts[1]!, `/ip4/10.199.9.2/tcp/8845/p2p/${peerA}`, '10.199.9.1')
  t.log(`B:\n${dcutrLines(log)}`)
  t.is(code, 0, log)
  t.regex(log, new RegExp(`dial: direct attempt 1/3 peer=${peerA} addr=/ip4/10\\.199\\.9\\.2/tcp/8845/p2p/${peerA}: ok`))
  t.notRegex(log, /dial: relay attempt/)
  t.notRegex(log, /dcutr:/)
  t.notRegex(serve.output(), /dcutr: (upgraded|upgrade failed)/)
  t.regex(log, /sync: peer=\w+ ok path=direct pulled=3 inserted=3 pushed=2/)
  assertConverged(t, w)
})
