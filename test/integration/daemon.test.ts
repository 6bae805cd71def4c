/**
 * `rr daemon` on three devices on 127.0.0.1, paired with `rr invite` / `rr join`: each its own HOME and login name,
 * no user_id, one tracker and one relay. Records reach every device; a daemon killed with -9 in the middle of a
 * round loses and duplicates nothing after its restart; a second daemon on one database refuses to start; a
 * device of another swarm on the same tracker is never seen.
 */
import type { ChildProcess } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import Database from 'better-sqlite3'
import { parseSwarmKey, swarmDiscoveryId } from '../../src/config/keys.js'
import { isolatedEnv, rr, rrSpawn, stop } from '../helpers/cli.js'
import { startDaemon as startDaemonWith } from '../helpers/daemons.js'
import { ensureSwarmKey } from '../helpers/keys.js'
import { seedEntries } from '../helpers/peers.js'
import { unusedPorts } from '../helpers/ports.js'
import { tempDir } from '../helpers/tmp.js'
import { rowOriginSql } from '../../src/store/wire-id.js'

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

interface Dev {
  name: string
  home: string
  env: NodeJS.ProcessEnv
  dbPath: string
  port: number
  daemon?: ChildProcess
  log: string
}

function makeDevice (root: string, name: string, port: number): Dev {
  const home = join(root, name)
  mkdirSync(home, { recursive: true })
  // Login names differ and no user_id is set: the devices meet by their swarm.
  const env = isolatedEnv(home, { USER: name, LOGNAME: name, RUSTORY_DEVICE_ID: `dev-${name}` })
  return { name, home, env, dbPath: join(home, '.rustory', 'history.db'), port, log: join(home, 'daemon.log') }
}

const startDaemon = (t: ExecutionContext, dev: Dev): ChildProcess => startDaemonWith(t, dev, 3)

async function record (dev: Dev, cmd: string): Promise<string> {
  const r = await rr(['record', '--cmd', cmd, '--cwd', '/tmp', '--exit-code', '0', '--duration-ms', '1', '--shell', 'bash', '--print-id'], { env: dev.env })
  if (r.code !== 0) throw new Error(`record on ${dev.name}: ${r.stderr}`)
  return r.stdout.trim()
}

/** The entry ids in a device's database (read-only; the daemon moves the spool in). */
function ids (dev: Dev): Set<string> {
  let db: Database.Database | undefined
  try {
    db = new Database(dev.dbPath, { readonly: true, fileMustExist: true })
    db.pragma('busy_timeout = 2000')
    return new Set((db.prepare('SELECT entry_id FROM entries').all() as Array<{ entry_id: string }>).map((r) => r.entry_id))
  } catch {
    return new Set()
  } finally {
    db?.close()
  }
}

function rowCount (dev: Dev): number {
  const db = new Database(dev.dbPath, { readonly: true, fileMustExist: true })
  try {
    db.pragma('busy_timeout = 2000')
    return (db.prepare('SELECT count(*) AS n FROM entries').get() as { n: number }).n
  } finally {
    db.close()
  }
}

async function until (what: string, check: () => boolean, timeoutMs: number, logs: Dev[]): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) {
      throw new Error(`${what} not reached in ${timeoutMs} ms\n${logs.map((d) => `--- ${d.name}\n${(() => { try { return readFileSync(d.log, 'utf8').slice(-4000) } catch { return '' } })()}`).join('\n')}`)
    }
    await sleep(250)
  }
}

async function pairedCluster (t: ExecutionContext): Promise<{ root: string, devices: Dev[], trackerUrl: string }> {
  const root = tempDir(t)
  const tracker = await rrSpawn(['tracker-serve', '--bind', '127.0.0.1:0', '--ttl-sec', '10'], { env: isolatedEnv(join(root, 'tracker')), ready: /tracker listen: (http:\/\/127\.0\.0\.1:\d+)\n/, timeoutMs: 60_000 })
  t.teardown(async () => { await stop(tracker.child) })
  const trackerUrl = tracker.match[1]!
  const ports = await unusedPorts(3)
  const devices = ['alice', 'ubuntu', 'pi'].map((name, i) => makeDevice(root, name, ports[i]!))
  const [first, ...others] = devices as [Dev, Dev, Dev]
  const configDir = join(first.home, '.config', 'rustory')
  mkdirSync(configDir, { recursive: true })
  // The first device: trackers in its config (bare host:port form), a swarm key from `rr invite`, then the relay
  // that runs with that key, then the invite that carries everything.
  writeFileSync(join(configDir, 'config.toml'), `trackers = ["${trackerUrl.replace('http://', '')}"]\n`)
  t.is((await rr(['invite'], { env: first.env })).code, 0)
  const relay = await rrSpawn(['relay-serve', '--listen', '/ip4/127.0.0.1/tcp/0'], { env: isolatedEnv(join(root, 'relay'), { RUSTORY_SWARM_KEY_PATH: join(configDir, 'swarm.key') }), ready: /relay listen: (\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/\w+)/, timeoutMs: 60_000 })
  t.teardown(async () => { await stop(relay.child) })
  writeFileSync(join(configDir, 'config.toml'), `trackers = ["${trackerUrl.replace('http://', '')}"]\nrelay_addr = "${relay.match[1]!}"\n`)
  const invite = await rr(['invite'], { env: first.env })
  t.is(invite.code, 0, invite.stderr)
  const code = invite.stdout.trim().split(' ')[2]!
  for (const dev of others) {
    const joined = await rr(['join', code], { env: dev.env })
    t.is(joined.code, 0, joined.stderr)
  }
  return { root, devices, trackerUrl }
}

test('three devices paired by invite/join with different login names sync every record through their daemons', async (t) => {
  t.timeout(300_000)
  const { root, devices, trackerUrl } = await pairedCluster(t)
  // A device of another swarm on the same tracker (same login name as one of ours, no user_id either).
  const stranger = makeDevice(root, 'alice2', (await unusedPorts(1))[0]!)
  stranger.env.USER = 'alice'
  stranger.env.LOGNAME = 'alice'
  mkdirSync(join(stranger.home, '.config', 'rustory'), { recursive: true })
  writeFileSync(join(stranger.home, '.config', 'rustory', 'config.toml'), `trackers = ["${trackerUrl}"]\n`)
  ensureSwarmKey(join(stranger.home, '.config', 'rustory', 'swarm.key'))

  for (const dev of [...devices, stranger]) startDaemon(t, dev)
  const expected = new Set<string>()
  const idOf = new Map<string, string>()
  for (const dev of devices) {
    for (let i = 0; i < 3; i++) {
      const id = await record(dev, `echo ${dev.name} ${i}`)
      expected.add(id)
      idOf.set(`echo ${dev.name} ${i}`, id)
    }
  }
  const strangerId = await record(stranger, 'echo from another swarm')
  await until('every record on every device', () => devices.every((d) => ids(d).size === expected.size && [...expected].every((id) => ids(d).has(id))), 180_000, devices)
  const sets = devices.map((d) => [...ids(d)].sort())
  t.deepEqual(sets[1], sets[0])
  t.deepEqual(sets[2], sets[0])
  t.false(sets[0]!.includes(strangerId))

  // Every device holds the others' records as theirs, verified against their chunk manifests: pushed and pulled over
  // 3.0.0. (A wrapper that hid the connection's wire version from the daemon ingested every pull as 1.0.0, signatures
  // dropped, and built every push in the 2.0.0 form, one signature per entry and no manifest.)
  for (const dev of devices) {
    const db = new Database(dev.dbPath, { readonly: true, fileMustExist: true })
    try {
      const others = db.prepare(`SELECT cmd, trust, chunk, ${rowOriginSql()} AS origin FROM entries WHERE device_id <> ?`).all(`dev-${dev.name}`) as Array<{ cmd: string, trust: number, chunk: number | null, origin: string }>
      t.is(others.length, 6, `${dev.name}: the other devices' records`)
      for (const row of others) t.like(row, { trust: 1 }, `${dev.name}: ${row.cmd} is verified`)
      for (const row of others) t.not(row.chunk, null, `${dev.name}: ${row.cmd} is under its origin's chunk manifest`)
    } finally {
      db.close()
    }
  }

  // A deletion on one device reaches the others through the daemons' tombstone exchange.
  const deleted = await rr(['delete', '--exact', `echo ${devices[1]!.name} 0`, '--yes'], { env: devices[1]!.env })
  t.is(deleted.code, 0, deleted.stderr)
  const goneId = idOf.get(`echo ${devices[1]!.name} 0`)!
  await until('the deleted record gone from every device', () => devices.every((d) => !ids(d).has(goneId)), 120_000, devices)

  // Registered under the swarm's id, not the login names; the stranger's swarm has its own and lists only itself.
  const peerIdOf = (d: Dev): string => /daemon: started peer=(\w+)/.exec(readFileSync(d.log, 'utf8'))![1]!
  const swarmIdOf = (d: Dev): string => swarmDiscoveryId(parseSwarmKey(readFileSync(join(d.home, '.config', 'rustory', 'swarm.key'), 'utf8'), 'swarm.key'))
  const listed = async (userId: string): Promise<string[]> => {
    const answer = await (await fetch(`${trackerUrl}/api/v1/peers?user_id=${userId}`)).json() as { peers: Array<{ peer_id: string }> }
    return answer.peers.map((p) => p.peer_id).sort()
  }
  t.is(swarmIdOf(devices[1]!), swarmIdOf(devices[0]!))
  t.not(swarmIdOf(stranger), swarmIdOf(devices[0]!))
  t.deepEqual(await listed(swarmIdOf(devices[0]!)), devices.map(peerIdOf).sort())
  t.deepEqual(await listed(swarmIdOf(stranger)), [peerIdOf(stranger)])
  t.deepEqual(await listed('alice'), [], 'nothing is registered under a login name')

  // sync-status reports the running daemon once it has finished a round of its own (the records above may all have
  // reached it through the other daemons' pushes before that).
  const roundLine = /^daemon: running \(pid \d+ since .*last round .*: 2 peers ok/m
  let status = ''
  for (const deadline = Date.now() + 90_000; !roundLine.test(status) && Date.now() < deadline; await sleep(500)) {
    status = (await rr(['sync-status'], { env: devices[0]!.env })).stdout
  }
  t.regex(status, roundLine, readFileSync(devices[0]!.log, 'utf8').slice(-4000))
  t.regex((await rr(['doctor'], { env: devices[0]!.env })).stdout, /daemon\s+running \(pid \d+ since /)

  // SIGTERM: one clean stop line.
  const code = await stop(devices[0]!.daemon!)
  t.is(code, 0)
  t.regex(readFileSync(devices[0]!.log, 'utf8'), /daemon: stopped\n$/)
  t.regex((await rr(['sync-status'], { env: devices[0]!.env })).stdout, /^daemon: not running \(stopped /m)
})

test('a daemon killed with -9 mid-round and restarted loses and duplicates nothing; a second daemon on one database refuses', async (t) => {
  t.timeout(300_000)
  const { devices } = await pairedCluster(t)
  const [a, b, c] = devices as [Dev, Dev, Dev]
  for (const dev of devices) startDaemon(t, dev)
  const first = await record(a, 'echo before the kill')
  await until('the first record everywhere', () => devices.every((d) => ids(d).has(first)), 120_000, devices)

  // The lock: a second daemon on a's database exits at once with a clear message.
  const second = await rr(['daemon', '--listen', '/ip4/127.0.0.1/tcp/0'], { env: a.env, timeoutMs: 60_000 })
  t.is(second.code, 1)
  t.regex(second.stderr, /another rr daemon already runs on .*history\.db \(pid \d+/)

  // c gets 20,000 entries of its own at once; b's daemon is killed while it is taking them in.
  seedEntries(c.dbPath, 20_000, 'dev-pi')
  await until('b in the middle of the transfer', () => { const n = rowCount(b); return n > 1 && n < 20_000 }, 120_000, devices)
  b.daemon!.kill('SIGKILL')
  const killedAt = rowCount(b)
  t.log(`b killed with ${killedAt} entries`)
  const during = await record(a, 'echo while b is down')
  startDaemon(t, b)
  const total = ids(c).size + 1
  await until('all devices converged', () => devices.every((d) => rowCount(d) >= total && ids(d).has(during)), 240_000, devices)
  await sleep(4000) // one more round: nothing may arrive twice
  const sets = devices.map((d) => [...ids(d)].sort())
  t.deepEqual(sets[0], sets[1])
  t.deepEqual(sets[0], sets[2])
  for (const d of devices) t.is(rowCount(d), sets[0]!.length, `${d.name}: rows equal distinct ids`)
  t.true(sets[0]!.includes(first))
  t.is(sets[0]!.length, 20_002)
})
