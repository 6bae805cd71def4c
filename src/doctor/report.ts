/**
 * `rr doctor`: what this installation uses and whether it works — paths, the database (entries, size, schema),
 * the record spool, what the recorder skipped or truncated, the shell hook, fzf, the keys, and sync status.
 * Collecting first moves the record spool into the database, as every reader does (so the counts are exact; that
 * creates the database when the spool holds its first commands); otherwise it only reads and never creates a key.
 */
import { execFileSync } from 'node:child_process'
import { existsSync, statSync } from 'node:fs'
import { dirname } from 'node:path'
import { databaseFiles, isRustoryDir, looseAmong, tighten, tightenedSoFar, type LooseFile } from '../config/private-files.js'
import type { Settings } from '../config/settings.js'
import { describeOpenFailure, drainSpoolFor, openDatabase, writable, type Database, type SpoolDrainOutcome } from '../store/db.js'
import { countReady, listSpool, rejectedDir, spoolDirOf } from '../store/spool-files.js'
import { schemaLevel, schemaVersion } from '../store/schema.js'
import { readCounters, readRefusals, readSyncStatus } from '../store/peers.js'
import { countTombstones } from '../store/tombstones.js'
import { syncStatusLine } from '../status/sync-status.js'
import { daemonSummary } from '../status/daemon-status.js'
import { daemonState, type DaemonState } from '../store/daemon-lock.js'
import { detectHooks, type HookStatus } from './shell-hooks.js'

export interface DoctorReport {
  /** False when something is broken (see problems); `rr doctor` then exits 1. */
  ok: boolean
  /** Broken things, one sentence each with the fix. */
  problems: string[]
  /** Things that work but deserve a look. */
  warnings: string[]
  version: string
  paths: {
    config: string
    configExists: boolean
    db: string
    dataDir: string
    recordLog: string
    /** The record spool: where `rr record` puts each command until a drain moves it into the database. */
    spool: string
    swarmKey: string
    identityKey: string
    relayKey: string
  }
  database: {
    exists: boolean
    entries?: number
    /** Deleted entries remembered so they never come back: made here, and received from peers. */
    tombstones?: { total: number, own: number, received: number }
    sizeBytes?: number
    walBytes?: number
    schemaVersion?: number
    expectedSchemaVersion: number
    error?: string
  }
  spool: {
    /** Recorded commands still waiting in the spool after this run's drain (non-zero: the database was locked). */
    pending: number
    /** Files set aside in rejected/ because they were not valid records. */
    rejected: number
    /** Moved into the database by this run. */
    drained: number
  }
  recorder: {
    /** Commands not recorded, by reason (leading_space, ignore_regex, secret_<kind>, empty). */
    skipped: Record<string, number>
    skippedTotal: number
    /** Commands stored truncated (over 64 KiB). */
    truncated: number
    /** Whether record.log exists (it holds the errors `rr record` swallowed). */
    logExists: boolean
  }
  hook: HookStatus & { detected: boolean }
  fzf: { found: boolean, version?: string }
  keys: { swarmKey: boolean, identityKey: boolean, relayKey: boolean }
  sync: SyncSummary
  daemon: DaemonState & { summary: string }
  /** Private files and folders found readable by group or others (tightened by this run when possible). */
  looseFiles: LooseFile[]
}

/** Inputs doctor takes from the environment, passed in so collecting stays testable. */
export interface DoctorEnvironment {
  home: string
  zdotdir?: string
  /** RUSTORY_HOOK_ACTIVE, exported by the hooks. */
  hookActive?: string
  /** The fzf program. @default 'fzf' */
  fzf?: string
  version: string
}

function fileSize (path: string): number | undefined {
  try {
    return statSync(path).size
  } catch {
    return undefined
  }
}

function fzfVersion (program: string): DoctorReport['fzf'] {
  try {
    const out = execFileSync(program, ['--version'], { encoding: 'utf8', timeout: 5000, stdio: ['ignore', 'pipe', 'ignore'] })
    return { found: true, version: out.trim().split(/\s+/)[0] ?? '' }
  } catch {
    return { found: false }
  }
}

// ---- sync status (issue 6 extends this to a one-line summary per peer) -----------------------------------------

export interface SyncSummary {
  /** Peers with a row in sync_status. */
  peers: number
  /** Peers whose last recorded attempt ended in an error. */
  peersWithErrors: number
  /** `rr sync-status` in one line: "sync: 3 peers, 1 stale, 0 failing" (src/status/sync-status.ts). */
  line?: string
  /** Entries peers sent that were refused (invalid, over a cap), in total. */
  refused?: number
}

/** The sync part of the report. Issue 6: turn this into the one-line sync-status summary. */
export function syncSummary (db: Database | undefined): SyncSummary {
  if (db == null) return { peers: 0, peersWithErrors: 0 }
  const rows = readSyncStatus(db)
  const refused = readRefusals(db).reduce((n, r) => n + r.refused_total, 0)
  return {
    line: syncStatusLine(db),
    ...(refused > 0 ? { refused } : {}),
    peers: rows.length,
    peersWithErrors: rows.filter((r) => r.last_error != null && (r.last_error_unix ?? 0) >= Math.max(r.last_pull_unix ?? 0, r.last_push_unix ?? 0)).length
  }
}

// ----------------------------------------------------------------------------------------------------------------

function tableExists (db: Database, name: string): boolean {
  return db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?").get(name) != null
}

/** Every file rustory keeps private (0600) and its own folders (0700). */
function privatePaths (settings: Settings, recordLog: string): string[] {
  const files = [...databaseFiles(settings.dbPath), settings.configPath, settings.swarmKeyPath, settings.p2pIdentityKeyPath, settings.relayIdentityKeyPath, recordLog]
  const dirs = [dirname(settings.dbPath), settings.dataDir, ...files.map((f) => dirname(f))].filter(isRustoryDir)
  return [...new Set([...dirs, ...files])]
}

/**
 * Files and folders group or others could read: each is tightened now (only ever removing bits) and reported, so
 * the user learns their history was exposed; one that cannot be changed (another owner) is reported with the fix.
 */
export function checkPermissions (paths: readonly string[]): { warnings: string[], loose: LooseFile[] } {
  const warnings: string[] = []
  // Loading the settings already tightened config.toml and its folder: report those too.
  const loose = [...tightenedSoFar().filter((l) => paths.includes(l.path)), ...looseAmong(paths)]
  for (const l of loose) {
    const octal = (l.mode & 0o777).toString(8).padStart(3, '0')
    try {
      tighten(l.path)
    } catch {
      // Reported below as still loose.
    }
    const still = looseAmong([l.path]).length > 0
    warnings.push(still
      ? `${l.path} is ${octal}: other users can read it; run: chmod ${l.kind === 'dir' ? '700' : '600'} ${l.path}`
      : `${l.path} was ${octal}, readable by other users; tightened to ${((l.mode & ~0o077) & 0o777).toString(8).padStart(3, '0')}`)
  }
  return { warnings, loose }
}

export function collectReport (settings: Settings, env: DoctorEnvironment): DoctorReport {
  const daemon = daemonState(settings.dbPath)
  const problems: string[] = []
  const recordLog0 = `${settings.dataDir}/record.log`
  // Before anything opens (and so tightens) the database: what was exposed.
  const permissions = checkPermissions(privatePaths(settings, recordLog0))
  const warnings: string[] = [...permissions.warnings]
  const recordLog = `${settings.dataDir}/record.log`
  const database: DoctorReport['database'] = { exists: existsSync(settings.dbPath), expectedSchemaVersion: schemaVersion }
  const recorder: DoctorReport['recorder'] = { skipped: {}, skippedTotal: 0, truncated: 0, logExists: existsSync(recordLog) }
  let sync: SyncSummary = { peers: 0, peersWithErrors: 0 }
  const spoolDir = spoolDirOf(settings.dbPath) ?? ''
  const spool: DoctorReport['spool'] = { pending: 0, rejected: 0, drained: 0 }
  let drain: SpoolDrainOutcome | undefined
  try {
    drain = drainSpoolFor(settings.dbPath, { busyTimeoutMs: 1000 })
    spool.drained = drain.inserted + drain.ignored
  } catch (err) {
    warnings.push(`cannot move the record spool into the database: ${err instanceof Error ? err.message : String(err)}`)
  }
  spool.pending = countReady(spoolDir)
  spool.rejected = listSpool(`${spoolDir}/${rejectedDir}`).length
  if (spool.pending > 0) {
    warnings.push(`${spool.pending} recorded command${spool.pending === 1 ? '' : 's'} wait in ${spoolDir}${drain?.skipped === 'locked' ? ' (the database is locked by another process; they move in at the next rr command)' : ''}`)
  }
  if (spool.rejected > 0) warnings.push(`${spool.rejected} spool file${spool.rejected === 1 ? ' was' : 's were'} not valid records: see ${spoolDir}/${rejectedDir}`)
  database.exists = existsSync(settings.dbPath)

  if (database.exists) {
    database.sizeBytes = fileSize(settings.dbPath) ?? 0
    database.walBytes = fileSize(`${settings.dbPath}-wal`) ?? 0
    let db: Database | undefined
    try {
      db = openDatabase(settings.dbPath, { readonly: true })
      database.schemaVersion = schemaLevel(db)
      if ((db.pragma('user_version', { simple: true }) as number) > schemaVersion) {
        problems.push(`database ${settings.dbPath} has schema version ${database.schemaVersion}, newer than this rustory understands (${schemaVersion}); upgrade rustory`)
      } else if (database.schemaVersion < schemaVersion) {
        warnings.push(`database schema version ${database.schemaVersion} is older than ${schemaVersion}; it is migrated the next time rr writes to it`)
      }
      if (tableExists(db, 'entries')) {
        database.entries = (db.prepare('SELECT COUNT(*) AS n FROM entries').get() as { n: number }).n
      }
      if (tableExists(db, 'tombstones')) database.tombstones = countTombstones(db, settings.deviceId)
      if (tableExists(db, 'counters')) {
        for (const [name, value] of Object.entries(readCounters(db))) {
          if (name.startsWith('skipped.')) {
            recorder.skipped[name.slice('skipped.'.length)] = value
            recorder.skippedTotal += value
          } else if (name === 'truncated') {
            recorder.truncated = value
          }
        }
      }
      if (tableExists(db, 'sync_status')) sync = syncSummary(db)
      if (sync.refused != null) warnings.push(`${sync.refused} entries sent by peers were refused (invalid or over a cap) and are not in this database: see rr sync-status`)
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err)
      database.error = message.includes(settings.dbPath) ? message : `cannot read database ${settings.dbPath}: ${message}`
      problems.push(database.error)
    } finally {
      db?.close()
    }
  }

  // rr record writes into the spool beside the database, and every writer needs the directory (WAL and -shm files).
  if (database.error == null) {
    const dir = dirname(settings.dbPath)
    const denied = !writable(dir) || (database.exists && !writable(settings.dbPath))
    if (denied) {
      database.error = describeOpenFailure(settings.dbPath, Object.assign(new Error('permission denied'), { code: 'EACCES' }))
      problems.push(`${database.error}; until then rr record cannot store commands`)
    }
  }

  const hooks = detectHooks(env.home, env.hookActive, env.zdotdir)
  const hook = { ...hooks, detected: hooks.active != null || hooks.rcFiles.length > 0 }
  if (!hook.detected) warnings.push('no shell hook found: add eval "$(rr init zsh)" to ~/.zshrc or eval "$(rr init bash)" to ~/.bashrc')

  const fzf = fzfVersion(env.fzf ?? 'fzf')
  if (!fzf.found) warnings.push('fzf not found: ctrl+r needs it (e.g. apt install fzf, brew install fzf)')
  if (recorder.logExists) warnings.push(`rr record logged errors: see ${recordLog}`)

  return {
    ok: problems.length === 0,
    problems,
    warnings,
    version: env.version,
    paths: {
      config: settings.configPath,
      configExists: existsSync(settings.configPath),
      db: settings.dbPath,
      dataDir: settings.dataDir,
      recordLog,
      spool: spoolDir,
      swarmKey: settings.swarmKeyPath,
      identityKey: settings.p2pIdentityKeyPath,
      relayKey: settings.relayIdentityKeyPath
    },
    database,
    spool,
    recorder,
    hook,
    fzf,
    keys: {
      swarmKey: existsSync(settings.swarmKeyPath),
      identityKey: existsSync(settings.p2pIdentityKeyPath),
      relayKey: existsSync(settings.relayIdentityKeyPath)
    },
    sync,
    daemon: { ...daemon, summary: daemonSummary(daemon) },
    looseFiles: permissions.loose
  }
}

function bytes (n: number | undefined): string {
  if (n == null) return '?'
  if (n < 1024) return `${n} B`
  if (n < 1024 * 1024) return `${(n / 1024).toFixed(1)} KiB`
  return `${(n / 1024 / 1024).toFixed(1)} MiB`
}

const present = (yes: boolean): string => yes ? 'present' : 'missing'

export function renderReport (r: DoctorReport): string {
  const lines: string[] = []
  const row = (label: string, value: string): void => { lines.push(`  ${label.padEnd(14)} ${value}`) }
  lines.push(`rustory ${r.version}`)
  lines.push('paths')
  row('config', `${r.paths.config}${r.paths.configExists ? '' : ' (not present: defaults in use)'}`)
  row('database', r.paths.db)
  row('data dir', r.paths.dataDir)
  row('spool', r.paths.spool)
  row('swarm key', `${r.paths.swarmKey} (${present(r.keys.swarmKey)})`)
  row('identity key', `${r.paths.identityKey} (${present(r.keys.identityKey)})`)
  row('relay key', `${r.paths.relayKey} (${present(r.keys.relayKey)})`)
  lines.push('database')
  if (!r.database.exists) {
    row('status', 'not created yet (the first recorded command creates it)')
  } else if (r.database.error != null) {
    row('status', `BROKEN: ${r.database.error}`)
  } else {
    row('entries', String(r.database.entries ?? 0))
    if (r.database.tombstones != null) row('tombstones', `${r.database.tombstones.total} (${r.database.tombstones.own} deleted here, ${r.database.tombstones.received} received from peers)`)
    row('size', `${bytes(r.database.sizeBytes)} (+ ${bytes(r.database.walBytes)} WAL)`)
    row('schema', `version ${r.database.schemaVersion ?? '?'} (this rustory: ${r.database.expectedSchemaVersion})`)
  }
  lines.push('recorder')
  row('spool', `${r.spool.pending} waiting${r.spool.rejected > 0 ? `, ${r.spool.rejected} rejected` : ''} (rr record writes there; every rr command moves them into the database)`)
  const reasons = Object.entries(r.recorder.skipped)
  row('skipped', reasons.length === 0 ? '0' : `${r.recorder.skippedTotal} (${reasons.map(([k, v]) => `${k}: ${v}`).join(', ')})`)
  row('truncated', String(r.recorder.truncated))
  row('errors log', r.recorder.logExists ? r.paths.recordLog : 'none')
  lines.push('shell')
  row('hook', r.hook.detected
    ? [r.hook.active != null ? `active in this shell (${r.hook.active})` : undefined, r.hook.rcFiles.length > 0 ? `loaded by ${r.hook.rcFiles.join(', ')}` : undefined].filter((s) => s != null).join('; ')
    : 'not detected')
  row('fzf', r.fzf.found ? `found (${r.fzf.version ?? '?'})` : 'not found')
  lines.push('sync')
  row('daemon', r.daemon.summary)
  row('peers', r.sync.peers === 0 ? 'none synced yet' : `${r.sync.peers}${r.sync.peersWithErrors > 0 ? ` (${r.sync.peersWithErrors} with errors on the last attempt)` : ''}`)
  if (r.sync.line != null) row('status', `${r.sync.line.replace(/^sync: /, '')} (details: rr sync-status)`)
  if (r.sync.refused != null) row('refused', `${r.sync.refused} entries from peers were refused (invalid or over a cap) and are not here (details: rr sync-status)`)
  for (const w of r.warnings) lines.push(`warning: ${w}`)
  for (const p of r.problems) lines.push(`problem: ${p}`)
  lines.push(r.ok ? 'ok' : 'BROKEN')
  return lines.join('\n') + '\n'
}
