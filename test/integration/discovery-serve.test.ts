/**
 * `rr p2p-serve --trackers --relay` on 127.0.0.1 with real processes: what it registers, how it keeps the
 * registration and the relay reservation alive, and what a wrong token looks like.
 */
import { join } from 'node:path'
import type { ChildProcess } from 'node:child_process'
import { loadSwarmKey, trackerUserId } from '../../src/config/keys.js'
import test, { type ExecutionContext } from 'ava'
import { isolatedEnv, rrSpawn, stop } from '../helpers/cli.js'
import { device, type Device } from '../helpers/peers.js'
import { tempDir } from '../helpers/tmp.js'
import { refusedPort, unusedPorts } from '../helpers/ports.js'

interface Running {
  child: ChildProcess
  match: RegExpMatchArray
  output: () => string
}

interface PeersAnswer {
  peers: Array<{ peer_id: string, addrs: string[], meta: { device_id: string }, last_seen_unix: number }>
}

/** Polls `output()` until `re` matches; fails with the output after `timeoutMs`. */
async function waitOutput (running: Running, re: RegExp, timeoutMs = 30_000, from = 0): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const match = running.output().slice(from).match(re)
    if (match != null) return match
    if (Date.now() > deadline) throw new Error(`no ${re} within ${timeoutMs} ms; output:\n${running.output()}`)
    if (running.child.exitCode != null) throw new Error(`exited ${running.child.exitCode} before ${re}; output:\n${running.output()}`)
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

async function spawnKept (t: ExecutionContext, args: string[], env: NodeJS.ProcessEnv, ready: RegExp): Promise<Running> {
  const running = await rrSpawn(args, { env, ready, timeoutMs: 45_000 })
  t.teardown(async () => { await stop(running.child) })
  return running
}

async function startTracker (t: ExecutionContext, dir: string, extra: Record<string, string> = {}, bind = '127.0.0.1:0'): Promise<{ url: string, running: Running }> {
  const running = await spawnKept(t, ['tracker-serve', '--bind', bind, '--ttl-sec', '6'], isolatedEnv(join(dir, 'tracker'), extra), /tracker listen: (http:\/\/127\.0\.0\.1:\d+)\n/)
  return { url: running.match[1]!, running }
}

async function startRelay (t: ExecutionContext, dir: string, swarm: string, port = 0): Promise<{ addr: string, port: number, running: Running }> {
  const running = await spawnKept(t, ['relay-serve', '--listen', `/ip4/127.0.0.1/tcp/${port}`], isolatedEnv(join(dir, 'relay'), { RUSTORY_SWARM_KEY_PATH: swarm }),
    /relay listen: (\/ip4\/127\.0\.0\.1\/tcp\/(\d+)\/p2p\/\w+)/)
  return { addr: running.match[1]!, port: Number(running.match[2]), running }
}

async function serve (t: ExecutionContext, dev: Device, extra: string[]): Promise<Running & { peerId: string }> {
  const running = await spawnKept(t, ['--db-path', dev.dbPath, 'p2p-serve', '--listen', '/ip4/127.0.0.1/tcp/0', ...extra], dev.env, /p2p listen: \/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/(\w+)/)
  return { ...running, peerId: running.match[1]! }
}

async function listed (url: string, swarmPath: string, token?: string): Promise<PeersAnswer['peers']> {
  // Listings need a user_id: the devices' default one (derived from the swarm key).
  const userId = trackerUserId({ userId: '', userIdConfigured: false }, loadSwarmKey(swarmPath))
  const res = await fetch(`${url}/api/v1/peers?user_id=${encodeURIComponent(userId)}`, token != null ? { headers: { authorization: `Bearer ${token}` } } : {})
  if (res.status !== 200) throw new Error(`GET /api/v1/peers: ${res.status}`)
  return ((await res.json()) as PeersAnswer).peers
}

const registered = /tracker: registered with http:\/\/127\.0\.0\.1:\d+ as \w+: \d+ addrs \((\d+) via relay\)/
/** Registered with the relay reservation in (a first registration may come before the reservation). */
const registeredViaRelay = /tracker: registered with http:\/\/127\.0\.0\.1:\d+ as \w+: \d+ addrs \(1 via relay\)/

test('serving peers register direct and relay addresses; a syncing peer finds them without --peers; a restart keeps the PeerId', async (t) => {
  t.timeout(150_000)
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  const [tracker, relay] = await Promise.all([startTracker(t, dir), startRelay(t, dir, swarm)])
  const a = device(t, dir, 'devA', swarm)
  const b = device(t, dir, 'devB', swarm)
  const c = device(t, dir, 'devC', swarm)
  const [idsA, idsB, idsC] = await Promise.all([a.record(3), b.record(2), c.record(1)])
  const flags = ['--trackers', tracker.url, '--relay', relay.addr]
  const [serveA, serveB] = await Promise.all([serve(t, a, flags), serve(t, b, flags)])
  await Promise.all([waitOutput(serveA, registeredViaRelay), waitOutput(serveB, registeredViaRelay)])

  // What `curl $tracker/api/v1/peers` shows.
  const peers = await listed(tracker.url, swarm)
  t.deepEqual(peers.map((p) => p.peer_id).sort(), [serveA.peerId, serveB.peerId].sort())
  for (const [dev, served] of [[a, serveA], [b, serveB]] as const) {
    const record = peers.find((p) => p.peer_id === served.peerId)!
    t.is(record.meta.device_id, dev.name)
    t.true(record.addrs.some((x) => new RegExp(`^/ip4/127\\.0\\.0\\.1/tcp/\\d+/p2p/${served.peerId}$`).test(x)), record.addrs.join(' '))
    t.true(record.addrs.includes(`${relay.addr}/p2p-circuit/p2p/${served.peerId}`), record.addrs.join(' '))
  }

  const sync = await c.rr(['p2p-sync', '--trackers', tracker.url, '--push'], { timeoutMs: 60_000 })
  t.is(sync.code, 0, sync.stdout + sync.stderr)
  t.deepEqual(c.entryIds(), [...idsA, ...idsB, ...idsC].sort())
  t.deepEqual(a.entryIds(), [...idsA, ...idsC].sort())
  t.deepEqual(b.entryIds(), [...idsB, ...idsC].sort())

  // Restart A: same identity key, same PeerId, registered again (with its new port).
  const before = peers.find((p) => p.peer_id === serveA.peerId)!
  t.is(await stop(serveA.child), 0)
  const again = await serve(t, a, flags)
  t.is(again.peerId, serveA.peerId)
  await waitOutput(again, registered)
  const newPort = /\/tcp\/(\d+)\/p2p\//.exec(again.output().match(/p2p listen: (\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/\w+)/)![1]!)![1]
  const after = (await listed(tracker.url, swarm)).find((p) => p.peer_id === serveA.peerId)!
  t.true(after.addrs.some((x) => x.includes(`/tcp/${newPort}/p2p/${serveA.peerId}`)), after.addrs.join(' '))
  t.true(after.last_seen_unix >= before.last_seen_unix)
})

test('after the relay restarts the reservation is renewed, registered again, and sync through the relay works', async (t) => {
  t.timeout(150_000)
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  // The relay comes back at the same port: one outside the range other tests' listen(0) can take meanwhile.
  const [relayPort] = await unusedPorts(1)
  const [tracker, relay] = await Promise.all([startTracker(t, dir), startRelay(t, dir, swarm, relayPort)])
  const a = device(t, dir, 'devA', swarm)
  const b = device(t, dir, 'devB', swarm)
  const idsA = await a.record(3)
  const served = await serve(t, a, ['--trackers', tracker.url, '--relay', relay.addr])
  await waitOutput(served, registeredViaRelay)

  t.is(await stop(relay.running.child), 0)
  const lost = served.output().length
  await waitOutput(served, /relay: reservation on \S+ lost; renewing/, 15_000)
  const restarted = await startRelay(t, dir, swarm, relay.port)
  t.is(restarted.addr, relay.addr, 'same relay key and port')
  const renewed = await waitOutput(served, /relay: reservation renewed on \S+ after (\d+) attempts? \((\d+) ms\)/, 30_000, lost)
  t.log(`renewed after ${renewed[1]} attempts, ${renewed[2]} ms after the loss`)
  // Registered again with the circuit address back in.
  const circuit = `${relay.addr}/p2p-circuit/p2p/${served.peerId}`
  const deadline = Date.now() + 15_000
  let addrs: string[] = []
  while (Date.now() < deadline) {
    addrs = (await listed(tracker.url, swarm)).find((p) => p.peer_id === served.peerId)?.addrs ?? []
    if (addrs.includes(circuit)) break
    await new Promise((resolve) => setTimeout(resolve, 200))
  }
  t.true(addrs.includes(circuit), addrs.join(' '))

  // A direct address nobody listens on, so the sync has to take the relay.
  const sync = await b.rr(['p2p-sync', '--peers', `/ip4/127.0.0.1/tcp/9/p2p/${served.peerId}`, '--relay', relay.addr], { timeoutMs: 60_000 })
  t.is(sync.code, 0, sync.stdout + sync.stderr)
  t.regex(sync.stdout + sync.stderr, /sync: peer=\w+ ok path=relay pulled=3 inserted=3/)
  t.deepEqual(b.entryIds(), idsA.sort())
})

test('a wrong tracker token: the tracker answers 401, p2p-serve logs why and keeps serving', async (t) => {
  t.timeout(120_000)
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  const tracker = await startTracker(t, dir, { RUSTORY_TRACKER_TOKEN: 'right-token' })
  const a = device(t, dir, 'devA', swarm, { RUSTORY_TRACKER_TOKEN: 'wrong-token' })
  const b = device(t, dir, 'devB', swarm)
  const idsA = await a.record(2)
  const served = await serve(t, a, ['--trackers', tracker.url])
  const line = await waitOutput(served, /tracker: registration with (\S+) failed \(attempt 1\): (.*)/)
  t.is(line[1], tracker.url)
  t.regex(line[2]!, /refused the token \(401\): check tracker_token \/ RUSTORY_TRACKER_TOKEN/)
  t.false(served.child.spawnargs.join(' ').includes('wrong-token'), 'the token is not on the command line')
  t.is((await fetch(`${tracker.url}/api/v1/peers`)).status, 401)
  t.is((await fetch(`${tracker.url}/api/v1/peers`, { headers: { authorization: 'Bearer wrong-token' } })).status, 401)
  t.deepEqual(await listed(tracker.url, swarm, 'right-token'), [])
  // Still serving.
  t.is(served.child.exitCode, null)
  const addr = served.output().match(/p2p listen: (\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/\w+)/)![1]!
  const sync = await b.rr(['p2p-sync', '--peers', addr], { timeoutMs: 60_000 })
  t.is(sync.code, 0, sync.stderr)
  t.deepEqual(b.entryIds(), idsA.sort())
})

test('a tracker that is down at start is retried until it is up', async (t) => {
  t.timeout(120_000)
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  // A port nothing listens on yet, outside the range other tests' listen(0) can take.
  const port = await refusedPort()
  const a = device(t, dir, 'devA', swarm)
  const served = await serve(t, a, ['--trackers', `http://127.0.0.1:${port}`])
  await waitOutput(served, /tracker: registration with \S+ failed \(attempt 2\): .*ECONNREFUSED.*; retrying in [\d.]+ s/)
  const tracker = await startTracker(t, dir, {}, `127.0.0.1:${port}`)
  await waitOutput(served, registered, 45_000)
  t.deepEqual((await listed(tracker.url, swarm)).map((p) => p.peer_id), [served.peerId])
})
