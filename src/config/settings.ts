/**
 * Settings: built-in defaults ← config.toml ← RUSTORY_* environment ← command-line flags.
 * The only module that reads process.env (through `environment`) and the config file.
 */
import { dirname, join, resolve } from 'node:path'
import { RustoryError } from '../core/errors.js'
import { isRustoryDir, tighten } from './private-files.js'
import { parseTrackerAddress, TrackerAddressError } from './tracker-address.js'

// node:fs and node:os through process.getBuiltinModule rather than `import`: importing them as ES modules evaluates
// every lazy export (fs: the stream classes and their modules), ~4 ms of each `rr record` start, a hot path this
// module is on.
const { existsSync, readFileSync } = process.getBuiltinModule('node:fs')
const { homedir, hostname: osHostname, userInfo } = process.getBuiltinModule('node:os')

type SmolToml = typeof import('smol-toml')

let toml: SmolToml | undefined

/**
 * smol-toml, loaded only when a config file exists, through its single-file CommonJS build: `rr record` runs on
 * every prompt and most users have no config file. node:module too is fetched only then (importing it costs every
 * start ~1 ms of internal modules).
 */
function smolToml (): SmolToml {
  toml ??= process.getBuiltinModule('node:module').createRequire(import.meta.url)('smol-toml') as SmolToml
  return toml
}

export interface Settings {
  /** The config file read (it may not exist). @default ~/.config/rustory/config.toml */
  configPath: string
  /** @default ~/.rustory/history.db */
  dbPath: string
  /** @default the login name */
  userId: string
  /**
   * Whether user_id was set (flag, RUSTORY_USER_ID or config). When it was not, trackers are asked by an id derived
   * from the swarm key instead (see swarmDiscoveryId), so devices with different login names still meet.
   */
  userIdConfigured: boolean
  /** @default the hostname */
  deviceId: string
  hostname: string
  /** Tracker base URLs, normalized from any accepted address form (tracker-address.ts). @default [] */
  trackers: string[]
  /** Circuit relay multiaddr (with /p2p/<id>). @default undefined */
  relayAddr?: string
  /** @default ~/.config/rustory/swarm.key */
  swarmKeyPath: string
  /** @default ~/.config/rustory/identity.key */
  p2pIdentityKeyPath: string
  /** @default ~/.config/rustory/relay.key */
  relayIdentityKeyPath: string
  /** @default undefined */
  trackerToken?: string
  /** Distinct commands ctrl+r loads at most; 0 means no cap (the whole history). @default 0 */
  searchLimitDefault: number
  /** The filter ctrl+r starts in (ctrl-r inside fzf cycles through them). @default 'global' */
  filterModeDefault: FilterMode
  /** The token `rr http-serve` requires and `rr http-sync` sends. @default undefined (http-serve makes one up) */
  httpToken?: string
  /** Entries pulled from one peer in one round at most; the rest follows next round. @default 1000000 */
  syncRoundMaxEntries: number
  /** Bytes pulled from one peer in one round at most; the rest follows next round. @default 1 GiB */
  syncRoundMaxBytes: number
  /** Commands matching this are not recorded. @default undefined */
  recordIgnoreRegex?: string
  /** The built-in secrets filter. @default true */
  secretsFilter: boolean
  /** Where logs go (record errors, daemon logs). @default ~/.rustory */
  dataDir: string
  /** This shell's session (RUSTORY_SHELL_SESSION, exported by the hooks): recorded with each entry. @default undefined */
  sessionId?: string
}

/** ctrl+r's filter modes, in the order ctrl-r cycles through them. */
export const filterModes = ['global', 'host', 'session', 'directory'] as const
export type FilterMode = typeof filterModes[number]

/** What flags may override; undefined means "not given". */
export type SettingsOverrides = { [K in keyof Omit<Settings, 'configPath' | 'dataDir' | 'userIdConfigured' | 'sessionId'>]?: Settings[K] | undefined }

export class ConfigError extends RustoryError {
  static override readonly name = 'ConfigError'
  override readonly name = 'ConfigError'
  override readonly exitCode = 2
}

type Env = Record<string, string | undefined>

/** RUSTORY_DEBUG=1: errors print their stack trace. */
export function debugEnabled (env: Env = environment()): boolean {
  return env.RUSTORY_DEBUG != null && env.RUSTORY_DEBUG !== '' && env.RUSTORY_DEBUG !== '0'
}

/** The process environment; tests pass their own. */
export function environment (): Env {
  return process.env
}

export function home (env: Env = environment()): string {
  return env.HOME != null && env.HOME !== '' ? env.HOME : homedir()
}

export function expandHome (path: string, env: Env = environment()): string {
  if (path === '~') return home(env)
  if (path.startsWith('~/')) return join(home(env), path.slice(2))
  return resolve(path)
}

export function defaultConfigPath (env: Env = environment()): string {
  return env.RUSTORY_CONFIG != null && env.RUSTORY_CONFIG !== ''
    ? expandHome(env.RUSTORY_CONFIG, env)
    : join(home(env), '.config', 'rustory', 'config.toml')
}

type FileKey = 'db_path' | 'user_id' | 'device_id' | 'trackers' | 'relay_addr' | 'swarm_key_path' |
  'p2p_identity_key_path' | 'relay_identity_key_path' | 'tracker_token' | 'search_limit_default' |
  'record_ignore_regex' | 'secrets_filter' | 'filter_mode_default' | 'http_token' | 'sync_round_max_entries' |
  'sync_round_max_bytes'

const fileKeys: Record<FileKey, 'string' | 'string[]' | 'integer' | 'boolean'> = {
  db_path: 'string',
  user_id: 'string',
  device_id: 'string',
  trackers: 'string[]',
  relay_addr: 'string',
  swarm_key_path: 'string',
  p2p_identity_key_path: 'string',
  relay_identity_key_path: 'string',
  tracker_token: 'string',
  search_limit_default: 'integer',
  record_ignore_regex: 'string',
  secrets_filter: 'boolean',
  filter_mode_default: 'string',
  http_token: 'string',
  sync_round_max_entries: 'integer',
  sync_round_max_bytes: 'integer'
}

function lineOfKey (text: string, key: string): number | undefined {
  const lines = text.split(/\r?\n/)
  const pattern = new RegExp(`^\\s*["']?${key}["']?\\s*=`)
  const index = lines.findIndex((l) => pattern.test(l))
  return index === -1 ? undefined : index + 1
}

function typeName (value: unknown): string {
  if (Array.isArray(value)) return 'array'
  if (value instanceof Date) return 'date'
  return typeof value
}

/** Reads and type-checks the config file. A missing file is an empty config. */
export function readConfigFile (path: string): Partial<Record<FileKey, unknown>> {
  // Most users have no config file: checked without the cost of an ENOENT error on every `rr record`.
  if (!existsSync(path)) return {}
  try {
    // config.toml may hold tracker_token: 0600, its folder 0700 (only ever tightened).
    tighten(path)
    if (isRustoryDir(dirname(path))) tighten(dirname(path))
  } catch {
    // Not ours to change; `rr doctor` reports it.
  }
  let text: string
  try {
    text = readFileSync(path, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {}
    throw new ConfigError(`config ${path}: cannot read: ${(err as Error).message}`)
  }
  let table: Record<string, unknown>
  try {
    table = smolToml().parse(text) as Record<string, unknown>
  } catch (err) {
    if (err instanceof smolToml().TomlError) {
      const first = err.message.split('\n')[0]
      throw new ConfigError(`config ${path}:${err.line}:${err.column}: malformed TOML: ${first}`)
    }
    throw new ConfigError(`config ${path}: malformed TOML: ${(err as Error).message}`)
  }
  for (const [key, value] of Object.entries(table)) {
    const expected = fileKeys[key as FileKey]
    const at = `${path}${lineOfKey(text, key) != null ? `:${lineOfKey(text, key)}` : ''}`
    if (expected == null) {
      throw new ConfigError(`config ${at}: unknown key "${key}" (known: ${Object.keys(fileKeys).join(', ')})`)
    }
    const ok = expected === 'string' ? typeof value === 'string'
      : expected === 'integer' ? typeof value === 'number' && Number.isInteger(value) && value > 0
        : expected === 'boolean' ? typeof value === 'boolean'
          : Array.isArray(value) && value.every((v) => typeof v === 'string')
    if (!ok) {
      const want = expected === 'string[]' ? 'an array of strings' : expected === 'integer' ? 'a positive integer' : `a ${expected}`
      throw new ConfigError(`config ${at}: key "${key}" must be ${want}, got ${typeName(value)}`)
    }
  }
  return table as Partial<Record<FileKey, unknown>>
}

function envList (value: string | undefined): string[] | undefined {
  if (value == null || value === '') return undefined
  return value.split(',').map((s) => s.trim()).filter((s) => s !== '')
}

function envInt (env: Env, name: string): number | undefined {
  const value = env[name]
  if (value == null || value === '') return undefined
  const n = Number(value)
  if (!Number.isInteger(n) || n <= 0) throw new ConfigError(`environment ${name}=${value}: must be a positive integer`)
  return n
}

function envBool (env: Env, name: string): boolean | undefined {
  const value = env[name]
  if (value == null || value === '') return undefined
  if (/^(1|true|yes|on)$/i.test(value)) return true
  if (/^(0|false|no|off)$/i.test(value)) return false
  throw new ConfigError(`environment ${name}=${value}: must be true or false`)
}

function pick<T> (...values: Array<T | undefined>): T | undefined {
  for (const v of values) if (v !== undefined && v !== '') return v
  return undefined
}

/** Every tracker address in the accepted forms, as base URLs; a malformed one is a ConfigError naming where it came from. */
function trackerUrls (values: string[], where: string): string[] {
  return values.map((value) => {
    try {
      return parseTrackerAddress(value)
    } catch (err) {
      if (err instanceof TrackerAddressError) throw new ConfigError(`${where}: ${err.message}`)
      throw err
    }
  })
}

/** The login name: $LOGNAME or $USER as shells and getpass read it, else the account of this process. */
function loginName (env: Env): string {
  const named = pick(env.LOGNAME, env.USER)
  if (named != null) return named
  try {
    return userInfo().username
  } catch {
    return 'user'
  }
}

/** Resolves every setting. Throws ConfigError (exit 2) for a malformed file or value. */
export function loadSettings (overrides: SettingsOverrides = {}, env: Env = environment()): Settings {
  const configPath = defaultConfigPath(env)
  // The default file may be absent (defaults apply); one the user named must exist, or their settings are lost.
  if (env.RUSTORY_CONFIG != null && env.RUSTORY_CONFIG !== '' && !existsSync(configPath)) {
    throw new ConfigError(`config file ${configPath} (named by --config or RUSTORY_CONFIG) does not exist: create it, or leave --config out to use ${join(home(env), '.config', 'rustory', 'config.toml')}`)
  }
  const file = readConfigFile(configPath)
  const str = (key: FileKey): string | undefined => file[key] as string | undefined
  const configDir = join(home(env), '.config', 'rustory')
  const dataDir = env.RUSTORY_DATA_DIR != null && env.RUSTORY_DATA_DIR !== '' ? expandHome(env.RUSTORY_DATA_DIR, env) : join(home(env), '.rustory')
  const path = (value: string | undefined, fallback: string): string => expandHome(value ?? fallback, env)
  const hostname = osHostname()

  const ignoreRegex = pick(overrides.recordIgnoreRegex, env.RUSTORY_RECORD_IGNORE_REGEX, str('record_ignore_regex'))
  if (ignoreRegex != null) {
    try {
      new RegExp(ignoreRegex) // eslint-disable-line no-new
    } catch (err) {
      throw new ConfigError(`record_ignore_regex ${JSON.stringify(ignoreRegex)} is not a valid regular expression: ${(err as Error).message}`)
    }
  }
  const filterMode = pick(overrides.filterModeDefault, env.RUSTORY_FILTER_MODE, str('filter_mode_default')) ?? 'global'
  if (!(filterModes as readonly string[]).includes(filterMode)) {
    throw new ConfigError(`filter_mode_default ${JSON.stringify(filterMode)} is not a filter mode; use one of ${filterModes.join(', ')}`)
  }
  const relayAddr = pick(overrides.relayAddr, env.RUSTORY_RELAY_ADDR, str('relay_addr'))
  const trackerToken = pick(overrides.trackerToken, env.RUSTORY_TRACKER_TOKEN, str('tracker_token'))
  const httpToken = pick(overrides.httpToken, env.RUSTORY_HTTP_TOKEN, str('http_token'))
  const flagTrackers = overrides.trackers?.length === 0 ? undefined : overrides.trackers
  const envTrackers = envList(env.RUSTORY_TRACKERS)
  const fileTrackers = file.trackers as string[] | undefined
  const trackers = flagTrackers != null
    ? trackerUrls(flagTrackers, '--trackers')
    : envTrackers != null
      ? trackerUrls(envTrackers, 'environment RUSTORY_TRACKERS')
      : fileTrackers != null ? trackerUrls(fileTrackers, `config ${configPath}: key "trackers"`) : []
  const configuredUserId = pick(overrides.userId, env.RUSTORY_USER_ID, str('user_id'))
  const settings: Settings = {
    configPath,
    dataDir,
    dbPath: path(pick(overrides.dbPath, env.RUSTORY_DB_PATH, str('db_path')), join(dataDir, 'history.db')),
    userId: configuredUserId ?? loginName(env),
    userIdConfigured: configuredUserId != null,
    deviceId: pick(overrides.deviceId, env.RUSTORY_DEVICE_ID, str('device_id')) ?? hostname,
    hostname,
    trackers,
    swarmKeyPath: path(pick(overrides.swarmKeyPath, env.RUSTORY_SWARM_KEY_PATH, str('swarm_key_path')), join(configDir, 'swarm.key')),
    p2pIdentityKeyPath: path(pick(overrides.p2pIdentityKeyPath, env.RUSTORY_P2P_IDENTITY_KEY_PATH, str('p2p_identity_key_path')), join(configDir, 'identity.key')),
    relayIdentityKeyPath: path(pick(overrides.relayIdentityKeyPath, env.RUSTORY_RELAY_IDENTITY_KEY_PATH, str('relay_identity_key_path')), join(configDir, 'relay.key')),
    searchLimitDefault: pick(overrides.searchLimitDefault, envInt(env, 'RUSTORY_SEARCH_LIMIT'), file.search_limit_default as number | undefined) ?? 0,
    filterModeDefault: filterMode as FilterMode,
    syncRoundMaxEntries: pick(overrides.syncRoundMaxEntries, envInt(env, 'RUSTORY_SYNC_ROUND_MAX_ENTRIES'), file.sync_round_max_entries as number | undefined) ?? 1_000_000,
    syncRoundMaxBytes: pick(overrides.syncRoundMaxBytes, envInt(env, 'RUSTORY_SYNC_ROUND_MAX_BYTES'), file.sync_round_max_bytes as number | undefined) ?? 1024 * 1024 * 1024,
    secretsFilter: pick(overrides.secretsFilter, envBool(env, 'RUSTORY_SECRETS_FILTER'), file.secrets_filter as boolean | undefined) ?? true
  }
  if (relayAddr != null) settings.relayAddr = relayAddr
  if (trackerToken != null) settings.trackerToken = trackerToken
  if (httpToken != null && httpToken !== '') settings.httpToken = httpToken
  if (ignoreRegex != null) settings.recordIgnoreRegex = ignoreRegex
  const session = env.RUSTORY_SHELL_SESSION
  if (session != null && session !== '') settings.sessionId = session
  return settings
}
