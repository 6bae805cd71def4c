/**
 * `rr daemon` forgetting a device that left: two daemons on 127.0.0.1 and a real tracker with a 2 s TTL. When one
 * device's node stops, its registration expires and its peer-book row is past the window, the other daemon stops
 * dialing it (a TCP listener on the gone device's port counts every dial); when it comes back, it is dialed again.
 */
import type { ChildProcess } from 'node:child_process'
import { copyFileSync, mkdirSync } from 'node:fs'
import { createServer, type Server } from 'node:net'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import Database from 'better-sqlite3'
import { isolatedEnv, rr, rrSpawn, stop } from '../helpers/cli.js'
import { daemonLog, startDaemon as startDaemonWith } from '../helpers/daemons.js'
import { ensureSwarmKey } from '../helpers/keys.js'
import { unusedPorts } from '../helpers/ports.js'
import { tempDir } from '../helpers/tmp.js'

const second = 1000
const daySec = 24 * 60 * 60
const userId = 'forget-test'
const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

interface Dev { name: string, home: string, env: NodeJS.ProcessEnv, dbPath: string, port: number, log: string, daemon?: ChildProcess }

function device (root: string, name: string, port: number, trackerUrl: string, swarmKey: string): Dev {
  const home = join(root, name)
  mkdirSync(join(home, '.config', 'rustory'), { recursive: true })
  copyFileSync(swarmKey, join(home, '.config', 'rustory', 'swarm.key'))
  const env = isolatedEnv(home, { RUSTORY_TRACKERS: trackerUrl, RUSTORY_USER_ID: userId, RUSTORY_DEVICE_ID: `dev-${name}` })
  return { name, home, env, dbPath: join(home, '.rustory', 'history.db'), port, log: join(home, 'daemon.log') }
}

const startDaemon = (t: ExecutionContext, dev: Dev): unknown => startDaemonWith(t, dev, 1)
const logOf = daemonLog

async function until (what: string, check: () => boolean | Promise<boolean>, timeoutMs: number, logs: Dev[]): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what} not reached in ${timeoutMs} ms\n${logs.map((d) => `--- ${d.name}\n${logOf(d).slice(-4000)}`).join('\n')}`)
    await sleep(200)
  }
}

function withDb<T> (dev: Dev, use: (db: Database.Database) => T): T {
  const db = new Database(dev.dbPath, { fileMustExist: true })
  try {
    db.pragma('busy_timeout = 5000')
    return use(db)
  } finally {
    db.close()
  }
}

const pullCursor = (dev: Dev, peer: string): number => withDb(dev, (db) => (db.prepare('SELECT last_cursor FROM peer_state WHERE peer_id = ?').get(peer) as { last_cursor: number } | undefined)?.last_cursor ?? 0)

/** A plain TCP listener where the gone device listened: every connection to it is a dial of that device. */
async function dialCounter (t: ExecutionContext, port: number): Promise<{ count: () => number, close: () => Promise<void> }> {
  let count = 0
  const server: Server = createServer((socket) => { count++; socket.destroy() })
  await new Promise<void>((resolve, reject) => { server.once('error', reject); server.listen(port, '127.0.0.1', resolve) })
  const close = async (): Promise<void> => { if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve())) }
  t.teardown(close)
  return { count: () => count, close }
}

test('a device that left the tracker and the peer book is no longer dialed; back, it is dialed again', async (t) => {
  t.timeout(180_000)
  const root = tempDir(t)
  const tracker = await rrSpawn(['tracker-serve', '--bind', '127.0.0.1:0', '--ttl-sec', '2'], { env: isolatedEnv(join(root, 'tracker')), ready: /tracker listen: (http:\/\/127\.0\.0\.1:\d+)\n/, timeoutMs: 60_000 })
  t.teardown(async () => { await stop(tracker.child) })
  const trackerUrl = tracker.match[1]!
  const swarmKey = join(root, 'swarm.key')
  ensureSwarmKey(swarmKey)
  const [portA, portB] = await unusedPorts(2)
  const a = device(root, 'a', portA!, trackerUrl, swarmKey)
  const b = device(root, 'b', portB!, trackerUrl, swarmKey)
  startDaemon(t, a)
  startDaemon(t, b)
  const peerIdOf = async (dev: Dev): Promise<string> => {
    await until(`${dev.name} started`, () => /daemon: started peer=(\w+)/.test(logOf(dev)), 60_000, [dev])
    return /daemon: started peer=(\w+)/.exec(logOf(dev))![1]!
  }
  const bId = await peerIdOf(b)
  await peerIdOf(a)
  const recorded = await rr(['record', '--cmd', 'echo from b', '--cwd', '/tmp', '--print-id'], { env: b.env })
  t.is(recorded.code, 0, recorded.stderr)
  await until('a pulled from b', () => pullCursor(a, bId) > 0, 60_000, [a, b])

  // b's node stops; its registration expires on the tracker.
  await stop(b.daemon!)
  const dials = await dialCounter(t, b.port)
  const listed = async (): Promise<string[]> => ((await (await fetch(`${trackerUrl}/api/v1/peers?user_id=${userId}`)).json()) as { peers: Array<{ peer_id: string }> }).peers.map((p) => p.peer_id)
  await until('b expired on the tracker', async () => !(await listed()).includes(bId), 30_000, [a])
  await until('a dialed the gone device', () => dials.count() > 0, 30_000, [a])
  // A week passes for the peer book (b's row ages past the window); a discovery that read the tracker just before
  // b expired may have renewed it, so the row is aged until a's daemon lets b go.
  await until('a forgot b', () => {
    withDb(a, (db) => db.prepare('UPDATE peer_book SET last_seen_unix = ? WHERE peer_id = ?').run(Math.floor(Date.now() / 1000) - 8 * daySec, bId))
    return logOf(a).includes(`sync: peer=${bId} left discovery`)
  }, 30_000, [a])
  const before = dials.count()
  // Without forgetting, a failing peer is still tried every 1, 1.5, 3, 6, 12 s (interval 1 s, doubling).
  await sleep(20 * second)
  t.is(dials.count(), before, 'no dial of the gone device in the 20 s after it was forgotten')

  // b comes back on the same port: it registers, a's next discovery supervises it again and pulls from it.
  await dials.close()
  const cursorBefore = pullCursor(a, bId)
  startDaemon(t, b)
  await until('b restarted', () => logOf(b).split('daemon: started').length === 3, 60_000, [b])
  const again = await rr(['record', '--cmd', 'echo b is back', '--cwd', '/tmp', '--print-id'], { env: b.env })
  t.is(again.code, 0, again.stderr)
  await until('a pulled from b again', () => pullCursor(a, bId) > cursorBefore, 60_000, [a, b])
})
