import test from 'ava'
import { mkdirSync, writeFileSync } from 'node:fs'
import { hostname, userInfo } from 'node:os'
import { join } from 'node:path'
import { ConfigError, loadSettings } from '../../src/config/settings.js'
import { isolatedEnv, rr } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'

function homeWithConfig (t: Parameters<typeof tempDir>[0], toml?: string): { home: string, configPath: string } {
  const home = tempDir(t)
  const configPath = join(home, '.config', 'rustory', 'config.toml')
  if (toml != null) {
    mkdirSync(join(home, '.config', 'rustory'), { recursive: true })
    writeFileSync(configPath, toml)
  }
  return { home, configPath }
}

const specExample = `db_path = "~/.rustory/history.db"
user_id = "zrma"
device_id = "macbook"
trackers = ["http://127.0.0.1:8850"]
relay_addr = "/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWRelay"
swarm_key_path = "~/.config/rustory/swarm.key"
p2p_identity_key_path = "~/.config/rustory/identity.key"
relay_identity_key_path = "~/.config/rustory/relay.key"
tracker_token = "secret"
search_limit_default = 100000
`

test('defaults: ~/.rustory/history.db, the hostname, the login name, keys under ~/.config/rustory', (t) => {
  const { home } = homeWithConfig(t)
  const s = loadSettings({}, { HOME: home })
  t.is(s.dbPath, join(home, '.rustory', 'history.db'))
  t.is(s.deviceId, hostname())
  t.is(s.userId, userInfo().username)
  t.is(s.swarmKeyPath, join(home, '.config', 'rustory', 'swarm.key'))
  t.is(s.p2pIdentityKeyPath, join(home, '.config', 'rustory', 'identity.key'))
  t.is(s.relayIdentityKeyPath, join(home, '.config', 'rustory', 'relay.key'))
  t.is(s.searchLimitDefault, 0, 'no cap: ctrl+r reaches the whole history')
  t.is(s.filterModeDefault, 'global')
  t.true(s.secretsFilter)
  t.deepEqual(s.trackers, [])
})

test('every key of the spec example is accepted and ~ expands to HOME', (t) => {
  const { home } = homeWithConfig(t, specExample)
  const s = loadSettings({}, { HOME: home })
  t.is(s.dbPath, join(home, '.rustory', 'history.db'))
  t.is(s.userId, 'zrma')
  t.is(s.deviceId, 'macbook')
  t.deepEqual(s.trackers, ['http://127.0.0.1:8850'])
  t.is(s.relayAddr, '/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWRelay')
  t.is(s.swarmKeyPath, join(home, '.config', 'rustory', 'swarm.key'))
  t.is(s.trackerToken, 'secret')
  t.is(s.searchLimitDefault, 100_000)
  t.is(s.filterModeDefault, 'global')
})

test('precedence is flag > environment > config file > default', (t) => {
  const { home } = homeWithConfig(t, 'db_path = "~/from-file.db"\ndevice_id = "file-dev"\nuser_id = "file-user"\nswarm_key_path = "/file/swarm.key"\n')
  const fileOnly = loadSettings({}, { HOME: home })
  t.is(fileOnly.dbPath, join(home, 'from-file.db'))
  t.is(fileOnly.deviceId, 'file-dev')
  const env = { HOME: home, RUSTORY_DB_PATH: '~/from-env.db', RUSTORY_DEVICE_ID: 'env-dev', RUSTORY_USER_ID: 'env-user', RUSTORY_SWARM_KEY_PATH: '/env/swarm.key', RUSTORY_P2P_IDENTITY_KEY_PATH: '~/env-id.key' }
  const fromEnv = loadSettings({}, env)
  t.is(fromEnv.dbPath, join(home, 'from-env.db'))
  t.is(fromEnv.deviceId, 'env-dev')
  t.is(fromEnv.userId, 'env-user')
  t.is(fromEnv.swarmKeyPath, '/env/swarm.key')
  t.is(fromEnv.p2pIdentityKeyPath, join(home, 'env-id.key'))
  const fromFlags = loadSettings({ dbPath: '/flag.db', deviceId: 'flag-dev', userId: 'flag-user', swarmKeyPath: '/flag/swarm.key' }, env)
  t.is(fromFlags.dbPath, '/flag.db')
  t.is(fromFlags.deviceId, 'flag-dev')
  t.is(fromFlags.userId, 'flag-user')
  t.is(fromFlags.swarmKeyPath, '/flag/swarm.key')
})

test('RUSTORY_CONFIG points at another config file', (t) => {
  const { home } = homeWithConfig(t, 'device_id = "default-file"\n')
  const other = join(home, 'elsewhere.toml')
  writeFileSync(other, 'device_id = "other-file"\n')
  t.is(loadSettings({}, { HOME: home, RUSTORY_CONFIG: other }).deviceId, 'other-file')
  t.is(loadSettings({}, { HOME: home, RUSTORY_CONFIG: other }).configPath, other)
})

test('a wrong type names the file, the key and the line', (t) => {
  const { home, configPath } = homeWithConfig(t, 'user_id = "me"\n\nsearch_limit_default = "lots"\n')
  const err = t.throws(() => loadSettings({}, { HOME: home }), { instanceOf: ConfigError })
  t.is(err!.message, `config ${configPath}:3: key "search_limit_default" must be a positive integer, got string`)
  t.is(err!.exitCode, 2)
})

test('malformed TOML names the file and the line', (t) => {
  const { home, configPath } = homeWithConfig(t, 'user_id = "me"\ndevice_id = \n')
  const err = t.throws(() => loadSettings({}, { HOME: home }), { instanceOf: ConfigError })
  t.true(err!.message.startsWith(`config ${configPath}:2:`), err!.message)
  t.false(err!.message.includes('\n'))
})

test('an unknown key is an error naming it and its line', (t) => {
  const { home, configPath } = homeWithConfig(t, 'db_pth = "/x.db"\n')
  const err = t.throws(() => loadSettings({}, { HOME: home }), { instanceOf: ConfigError })
  t.regex(err!.message, new RegExp(`^config ${configPath.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}:1: unknown key "db_pth"`))
})

test('rr doctor reports a malformed config as one line on stderr and exits 2', async (t) => {
  const { home, configPath } = homeWithConfig(t, 'db_path = 42\n')
  const r = await rr(['doctor'], { env: isolatedEnv(home) })
  t.is(r.code, 2)
  t.is(r.stderr.trim().split('\n').length, 1, r.stderr)
  t.true(r.stderr.includes(configPath))
  t.regex(r.stderr, /:1: key "db_path" must be a string/)
})

test('rr record never fails the shell on a malformed config: exit 0 and a line in record.log', async (t) => {
  const { home } = homeWithConfig(t, 'db_path = [\n')
  const r = await rr(['record', '--cmd', 'ls'], { env: isolatedEnv(home) })
  t.is(r.code, 0)
  t.is(r.stderr, '')
  const log = (await import('node:fs')).readFileSync(join(home, '.rustory', 'record.log'), 'utf8')
  t.regex(log, /record failed: config .*config\.toml:\d+/)
})
