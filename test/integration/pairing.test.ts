/**
 * `rr invite` / `rr join` as real processes with their own HOMEs, and the nodes that no longer create a swarm key.
 */
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'ava'
import { isolatedEnv, rr } from '../helpers/cli.js'
import { ensureSwarmKey } from '../helpers/keys.js'
import { tempDir } from '../helpers/tmp.js'

const relay = '/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWQYV9dGMFoRzNStwpXztXaBUjtPqi6aU76ZgUriHhKust'

function home (root: string, name: string): { dir: string, env: NodeJS.ProcessEnv, key: string, config: string } {
  const dir = join(root, name)
  mkdirSync(dir, { recursive: true })
  return { dir, env: isolatedEnv(dir, { USER: name, LOGNAME: name }), key: join(dir, '.config', 'rustory', 'swarm.key'), config: join(dir, '.config', 'rustory', 'config.toml') }
}

function fingerprintOf (stdout: string): string {
  return /fingerprint: (\w+)/.exec(stdout)?.[1] ?? ''
}

test('invite on the first device creates the key; join on another writes the same key and the config, both 0600', async (t) => {
  const root = tempDir(t)
  const first = home(root, 'alice')
  mkdirSync(join(first.dir, '.config', 'rustory'), { recursive: true })
  writeFileSync(first.config, `trackers = ["127.0.0.1:8850", "/dns4/tracker.example.com/tcp/8850"]\ntracker_token = "tok"\nrelay_addr = "${relay}"\n`)
  const invite = await rr(['invite'], { env: first.env })
  t.is(invite.code, 0, invite.stderr)
  t.regex(invite.stdout, /^rr join rr1-[A-Za-z0-9_-]+\n$/)
  t.regex(invite.stderr, /created a new swarm key/)
  t.true(existsSync(first.key))

  const second = home(root, 'ubuntu')
  const code = invite.stdout.trim().split(' ')[2]!
  const join1 = await rr(['join', code], { env: second.env })
  t.is(join1.code, 0, join1.stderr)
  t.regex(join1.stdout, /wrote swarm key .* \(fingerprint \w+/)
  t.is(readFileSync(second.key, 'utf8'), readFileSync(first.key, 'utf8'))
  t.is(statSync(second.key).mode & 0o777, 0o600)
  t.is(statSync(second.config).mode & 0o777, 0o600)
  const config = readFileSync(second.config, 'utf8')
  t.regex(config, /trackers = \[ "http:\/\/127\.0\.0\.1:8850", "http:\/\/tracker\.example\.com:8850" \]/)
  t.regex(config, /tracker_token = "tok"/)
  t.true(config.includes(relay))
  t.false(/user_id/.test(config), 'no user_id configured on the first device, none written')
  const fa = fingerprintOf((await rr(['swarm-key'], { env: first.env })).stdout)
  t.not(fa, '')
  t.is(fingerprintOf((await rr(['swarm-key'], { env: second.env })).stdout), fa)

  // A second invite from the first device reuses its key; joining again with it changes nothing.
  const again = await rr(['invite'], { env: first.env })
  t.notRegex(again.stderr, /created/)
  const join2 = await rr(['join', again.stdout.trim().split(' ')[2]!], { env: second.env })
  t.is(join2.code, 0)
  t.regex(join2.stdout, /already in place/)
})

test('join refuses to replace a different swarm key without --force, prints both fingerprints, writes nothing', async (t) => {
  const root = tempDir(t)
  const first = home(root, 'alice')
  const invite = await rr(['invite'], { env: first.env })
  const code = invite.stdout.trim().split(' ')[2]!
  const other = home(root, 'bob')
  ensureSwarmKey(other.key)
  const before = readFileSync(other.key, 'utf8')
  const ours = fingerprintOf((await rr(['swarm-key'], { env: other.env })).stdout)
  const theirs = fingerprintOf((await rr(['swarm-key'], { env: first.env })).stdout)
  const refused = await rr(['join', code], { env: other.env })
  t.not(refused.code, 0)
  t.true(refused.stderr.includes(ours), refused.stderr)
  t.true(refused.stderr.includes(theirs), refused.stderr)
  t.regex(refused.stderr, /--force/)
  t.is(readFileSync(other.key, 'utf8'), before)
  t.false(existsSync(other.config))

  const forced = await rr(['join', '--force', code], { env: other.env })
  t.is(forced.code, 0, forced.stderr)
  t.is(readFileSync(other.key, 'utf8'), readFileSync(first.key, 'utf8'))
  t.is(readFileSync(`${other.key}.old`, 'utf8'), before)
})

test('a truncated or garbled code is one clear error and writes nothing', async (t) => {
  const root = tempDir(t)
  const first = home(root, 'alice')
  const code = (await rr(['invite'], { env: first.env })).stdout.trim().split(' ')[2]!
  const fresh = home(root, 'carol')
  for (const bad of [code.slice(0, code.length - 6), code.slice(0, 20), code.replace(/.{3}$/, (s) => s.split('').reverse().join('') === s ? 'AAA' : s.split('').reverse().join('')), 'rr1-', 'hello']) {
    const r = await rr(['join', bad], { env: fresh.env })
    t.is(r.code, 2, `${bad}: ${r.stderr}`)
    t.regex(r.stderr, /^rr: invalid invite code: .*copy the whole line/)
    t.is(r.stderr.trim().split('\n').length, 1)
    t.false(existsSync(fresh.key))
    t.false(existsSync(fresh.config))
  }
})

test('p2p-serve, p2p-sync and daemon never create a swarm key: they exit non-zero and say how to get one', async (t) => {
  const root = tempDir(t)
  const fresh = home(root, 'dave')
  for (const args of [['p2p-serve', '--listen', '/ip4/127.0.0.1/tcp/0'], ['p2p-sync', '--peers', `/ip4/127.0.0.1/tcp/1/p2p/${relay.split('/p2p/')[1]}`], ['daemon', '--listen', '/ip4/127.0.0.1/tcp/0']]) {
    const r = await rr(args, { env: fresh.env })
    t.not(r.code, 0, args[0])
    t.regex(r.stderr, /run `rr invite` on your first device and `rr join <code>` here/, args[0])
    t.false(existsSync(fresh.key), args[0])
  }
})

test('a malformed tracker address is refused when the command reads the config, naming the key', async (t) => {
  const root = tempDir(t)
  const dev = home(root, 'erin')
  ensureSwarmKey(dev.key)
  writeFileSync(dev.config, 'trackers = ["tracker.example.com"]\n')
  const r = await rr(['daemon', '--listen', '/ip4/127.0.0.1/tcp/0'], { env: dev.env })
  t.is(r.code, 2)
  t.regex(r.stderr, /config\.toml: key "trackers": "tracker\.example\.com" is not a tracker address/)
})
