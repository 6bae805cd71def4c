/**
 * Two daemons started at the same moment find each other at once, not a discovery interval later. Each lists the
 * tracker's peers only after its own registration has landed, so the later of the two to register always sees the
 * earlier one. Registrations reach the tracker through SlowRegistrations, a proxy on 127.0.0.1 that holds every
 * POST for a while (a fake, named so: a slow path to the tracker for registrations only, which loopback cannot
 * give for real); listings pass at once. Listing while the registrations were in flight, neither daemon saw the
 * other until its next round, a whole --interval-sec later.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import test from 'ava'
import Database from 'better-sqlite3'
import { isolatedEnv, rr, rrSpawn, stop } from '../helpers/cli.js'
import { startDaemon } from '../helpers/daemons.js'
import { unusedPorts } from '../helpers/ports.js'
import { tempDir } from '../helpers/tmp.js'

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))
const registrationDelayMs = 1500
/** Longer than the test waits: only the first discovery can make the daemons meet in time. */
const intervalSec = 600

async function body (req: IncomingMessage): Promise<Buffer> {
  const parts: Buffer[] = []
  for await (const part of req) parts.push(part as Buffer)
  return Buffer.concat(parts)
}

/** SlowRegistrations: forwards everything to `target`, POSTs after registrationDelayMs. */
async function slowRegistrations (target: string): Promise<{ url: string, server: Server }> {
  const server = createServer((req, res) => {
    void (async () => {
      const sent = await body(req)
      if (req.method === 'POST') await sleep(registrationDelayMs)
      const headers: Record<string, string> = {}
      for (const [k, v] of Object.entries(req.headers)) if (typeof v === 'string' && k !== 'host' && k !== 'content-length') headers[k] = v
      const answer = await fetch(`${target}${req.url ?? '/'}`, { method: req.method ?? 'GET', headers, ...(sent.length > 0 ? { body: sent } : {}) })
      res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'application/json' })
      res.end(Buffer.from(await answer.arrayBuffer()))
    })().catch(() => { res.destroy() })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `127.0.0.1:${(server.address() as AddressInfo).port}`, server }
}

function entryIds (dbPath: string): string[] {
  try {
    const db = new Database(dbPath, { readonly: true, fileMustExist: true })
    try {
      return (db.prepare('SELECT entry_id FROM entries').pluck().all() as string[]).sort()
    } finally {
      db.close()
    }
  } catch {
    return []
  }
}

test('two daemons started together meet at once, not a discovery interval later', async (t) => {
  t.timeout(120_000)
  const root = tempDir(t)
  const tracker = await rrSpawn(['tracker-serve', '--bind', '127.0.0.1:0', '--ttl-sec', '60'], { env: isolatedEnv(join(root, 'tracker')), ready: /tracker listen: (http:\/\/127\.0\.0\.1:\d+)\n/, timeoutMs: 60_000 })
  t.teardown(async () => { await stop(tracker.child) })
  const proxy = await slowRegistrations(tracker.match[1]!)
  t.teardown(() => { proxy.server.closeAllConnections(); proxy.server.close() })

  const ports = await unusedPorts(2)
  const devices = ['anna', 'ben'].map((name, i) => {
    const home = join(root, name)
    mkdirSync(join(home, '.config', 'rustory'), { recursive: true })
    const env = isolatedEnv(home, { USER: name, LOGNAME: name, RUSTORY_DEVICE_ID: `dev-${name}` })
    return { name, home, env, port: ports[i]!, log: join(home, 'daemon.log'), dbPath: join(home, '.rustory', 'history.db') }
  })
  const [a, b] = devices as [typeof devices[0], typeof devices[0]]
  writeFileSync(join(a.home, '.config', 'rustory', 'config.toml'), `trackers = ["${proxy.url}"]\n`)
  t.is((await rr(['invite'], { env: a.env })).code, 0)
  const invite = await rr(['invite'], { env: a.env })
  t.is(invite.code, 0, invite.stderr)
  const joined = await rr(['join', invite.stdout.trim().split(' ')[2]!], { env: b.env })
  t.is(joined.code, 0, joined.stderr)
  const record = await rr(['record', '--cmd', 'echo started-together', '--cwd', '/tmp', '--exit-code', '0', '--shell', 'bash', '--print-id'], { env: a.env })
  t.is(record.code, 0, record.stderr)

  const started = Date.now()
  for (const dev of devices) startDaemon(t, dev, intervalSec)
  const deadline = started + 30_000
  while (!entryIds(b.dbPath).includes(record.stdout.trim())) {
    if (Date.now() > deadline) {
      return t.fail(`ben never got anna's record in 30 s (the next discovery is ${intervalSec} s away)\n${devices.map((d) => `--- ${d.name}\n${readFileSync(d.log, 'utf8').slice(-3000)}`).join('\n')}`)
    }
    await sleep(250)
  }
  t.log(`synced ${Date.now() - started} ms after both daemons started`)
  t.pass()
})
