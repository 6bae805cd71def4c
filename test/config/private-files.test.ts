import { execFileSync, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { chmodSync, existsSync, mkdirSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { isolatedEnv, rr } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'
import { tighten } from '../../src/config/private-files.js'

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
