/**
 * The deploy/ image for real: the tracker and the relay run in containers (podman, host network), two daemons on
 * this machine register with them, hold a reservation on the containerized relay, and sync a record.
 * Needs the image: `npm run image:local` builds it from Debian packages (root, podman, runc, debootstrap; about three
 * minutes; see deploy/README.md), and .ci/run does so before `npm test`. Without it the test fails saying so.
 */
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { chmodSync, copyFileSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'ava'
import Database from 'better-sqlite3'
import { isolatedEnv, repoRoot, rr, rrBin, stop } from '../helpers/cli.js'
import { unusedPorts } from '../helpers/ports.js'
import { tempDir } from '../helpers/tmp.js'

const image = process.env.RUSTORY_TEST_IMAGE ?? 'localhost/rustory-server:test'
// This machine runs podman inside a container: cgroups v1 hybrid and capped rlimits need these.
const podmanGlobal = (process.env.RUSTORY_PODMAN_GLOBAL ?? '--runtime runc --cgroup-manager=cgroupfs').split(' ').filter((s) => s !== '')
const podmanRun = ['--network', 'host', '--ulimit', 'nofile=4096:4096', '--ulimit', 'nproc=4096:4096']

function imageExists (): boolean {
  try {
    execFileSync('podman', [...podmanGlobal, 'image', 'exists', image], { stdio: 'ignore', timeout: 60_000 })
    return true
  } catch {
    return false
  }
}

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

function podman (name: string, args: string[]): { child: ChildProcess, output: () => string } {
  const child = spawn('podman', [...podmanGlobal, 'run', '--rm', '--name', name, ...podmanRun, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout!.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr!.on('data', (d: Buffer) => { out += d.toString() })
  return { child, output: () => out }
}

async function waitFor (what: string, check: () => boolean, timeoutMs: number, output: () => string, child?: ChildProcess): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (child?.exitCode != null) throw new Error(`exited ${child.exitCode} before ${what}:\n${output()}`)
    if (Date.now() > deadline) throw new Error(`${what} not within ${timeoutMs} ms:\n${output()}`)
    await sleep(200)
  }
}

test('the tracker and relay containers from deploy/ serve two daemons that sync a record', async (t) => {
  t.timeout(300_000)
  if (!imageExists()) {
    return t.fail(`no image ${image} for podman: build it with \`npm run image:local\` (as root, with podman, runc and debootstrap installed; .ci/run does both)`)
  }
  const root = tempDir(t)
  const [trackerPort, relayPort] = await unusedPorts(2) as [number, number]
  const devices = ['a', 'b'].map((name) => {
    const home = join(root, name)
    mkdirSync(join(home, '.config', 'rustory'), { recursive: true })
    return { name, home, env: isolatedEnv(home, { RUSTORY_DEVICE_ID: `box-${name}` }), dbPath: join(home, '.rustory', 'history.db') }
  })
  const [a, b] = devices as [typeof devices[0], typeof devices[0]]
  t.is((await rr(['invite'], { env: a.env })).code, 0)
  const keyPath = join(a.home, '.config', 'rustory', 'swarm.key')
  // As a Kubernetes Secret mounts it: readable by the container's user (uid 1000), not by the host's root only.
  const mounted = join(root, 'secret-swarm.key')
  copyFileSync(keyPath, mounted)
  chmodSync(mounted, 0o444)
  const suffix = `${process.pid}-${Date.now()}`
  const tracker = podman(`rustory-tracker-${suffix}`, ['-e', 'RUSTORY_TRACKER_TOKEN=box-token', image, 'tracker-serve', '--bind', `0.0.0.0:${trackerPort}`, '--ttl-sec', '10'])
  const relay = podman(`rustory-relay-${suffix}`, ['-v', `${mounted}:/secrets/swarm.key:ro`, '-e', 'RUSTORY_SWARM_KEY_PATH=/secrets/swarm.key', image,
    'relay-serve', '--listen', `/ip4/127.0.0.1/tcp/${relayPort}`, '--identity-key', '/data/relay.key'])
  t.teardown(async () => {
    for (const name of [`rustory-tracker-${suffix}`, `rustory-relay-${suffix}`]) {
      try { execFileSync('podman', [...podmanGlobal, 'stop', '-t', '5', name], { stdio: 'ignore', timeout: 60_000 }) } catch {}
    }
  })
  await waitFor('tracker listening', () => /tracker listen: /.test(tracker.output()), 120_000, tracker.output, tracker.child)
  await waitFor('relay listening', () => /relay listen: /.test(relay.output()), 120_000, relay.output, relay.child)
  const relayAddr = /relay listen: (\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/\w+)/.exec(relay.output())![1]!
  writeFileSync(join(a.home, '.config', 'rustory', 'config.toml'), `trackers = ["127.0.0.1:${trackerPort}"]\ntracker_token = "box-token"\nrelay_addr = "${relayAddr}"\n`)
  const code = (await rr(['invite'], { env: a.env })).stdout.trim().split(' ')[2]!
  t.is((await rr(['join', code], { env: b.env })).code, 0)

  const daemons: ChildProcess[] = []
  const logs = new Map<string, string>()
  for (const d of devices) {
    const child = spawn(process.execPath, [rrBin, 'daemon', '--listen', '/ip4/127.0.0.1/tcp/0', '--interval-sec', '3'], { env: d.env, cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] })
    logs.set(d.name, '')
    const tap = (x: Buffer): void => { logs.set(d.name, logs.get(d.name)! + x.toString()) }
    child.stdout!.on('data', tap)
    child.stderr!.on('data', tap)
    daemons.push(child)
    t.teardown(async () => { await stop(child) })
  }
  const all = (): string => [...logs.entries()].map(([n, l]) => `--- ${n}\n${l}`).join('\n') + `\n--- tracker\n${tracker.output()}\n--- relay\n${relay.output()}`
  // Both hold a reservation on the containerized relay and registered it with the containerized tracker.
  await waitFor('registrations via the relay', () => [...logs.values()].every((l) => /tracker: registered with .* \(1 via relay\)/.test(l)), 120_000, all)
  const id = (await rr(['record', '--cmd', 'echo through the containers', '--cwd', '/tmp', '--exit-code', '0', '--duration-ms', '1', '--shell', 'bash', '--print-id'], { env: a.env })).stdout.trim()
  const onB = (): boolean => {
    try {
      const db = new Database(b.dbPath, { readonly: true, fileMustExist: true })
      try { return db.prepare('SELECT 1 FROM entries WHERE entry_id = ?').get(id) != null } finally { db.close() }
    } catch { return false }
  }
  await waitFor('the record on b', onB, 120_000, all)
  t.true(onB())
  t.regex(readFileSync(keyPath, 'utf8'), /^\/key\/swarm\/psk\/1\.0\.0\//)
})
