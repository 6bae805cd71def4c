/**
 * A cluster of real rustory devices on 127.0.0.1 for fault-injection tests: each device is its own HOME (so its
 * own identity.key and PeerId), its own database, a fixed TCP port chosen up front (so a restarted `rr p2p-serve`
 * comes back at the same address), one shared swarm.key, a `rr p2p-serve` process, a `rr p2p-sync --watch`
 * process and a recorder spawning `rr record --print-id`. Processes can be killed (-9), paused (SIGSTOP) and
 * restarted; the databases are then checked with `verifyCluster`.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { appendFileSync, mkdirSync, writeFileSync, existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { openDatabase } from '../../src/store/db.js'
import { entryFields, type Entry } from '../../src/core/entry.js'
import { insertEntries } from '../../src/store/entries.js'
import { isolatedEnv, repoRoot, rrBin } from './cli.js'
import { prng } from './prng.js'

export const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

export { prng }

/** Ports free now, outside the kernel's ephemeral range (see ports.ts), for processes restarted at one address. */
export { unusedPorts as freePorts } from './ports.js'

/** Writes a swarm key in the standard `/key/swarm/psk/1.0.0/` format. */
export function writeSwarmKey (path: string): void {
  writeFileSync(path, `/key/swarm/psk/1.0.0/\n/base16/\n${randomBytes(32).toString('hex')}\n`, { mode: 0o600 })
}

/** Keeps the last lines a process wrote, and lets callers react to each line. */
class LineTap {
  readonly lines: string[] = []
  #partial = ''
  constructor (private readonly keep: number, private readonly onLine?: (line: string) => void) {}
  push (chunk: Buffer): void {
    const text = this.#partial + chunk.toString()
    const parts = text.split('\n')
    this.#partial = parts.pop() ?? ''
    for (const line of parts) {
      this.lines.push(line)
      if (this.lines.length > this.keep) this.lines.shift()
      this.onLine?.(line)
    }
  }
}

export interface ManagedProcess {
  child: ChildProcess
  paused: boolean
  exited: Promise<void>
  tail: LineTap
}

function alive (p: ManagedProcess | undefined): p is ManagedProcess {
  return p != null && p.child.exitCode == null && p.child.signalCode == null
}

export interface SyncProcessOptions {
  intervalSec: number
  limit: number
  push: boolean
}

export interface DeviceEvents {
  /** Every line a sync process writes (stdout summaries and the stderr dial log). */
  onSyncLine?: (device: Device, line: string) => void
}

export class Device {
  readonly home: string
  readonly dbPath: string
  readonly deviceId: string
  readonly env: NodeJS.ProcessEnv
  addr: string | undefined
  peerId: string | undefined
  serve: ManagedProcess | undefined
  sync: ManagedProcess | undefined
  syncPeers: string[] = []
  syncOk = 0
  syncFailed = 0
  /** Every entry_id `rr record --print-id` reported, plus seeded ones. */
  readonly recorded = new Set<string>()
  recordFailures = 0
  /** What failed `rr record` runs said (the first few). */
  readonly recordErrors: string[] = []

  constructor (readonly index: number, root: string, readonly port: number, swarmKeyPath: string, private readonly events: DeviceEvents = {}, dbPath?: string) {
    this.home = join(root, `device-${index}`)
    mkdirSync(this.home, { recursive: true })
    this.dbPath = dbPath ?? join(this.home, 'history.db')
    this.deviceId = `chaos-dev-${index}`
    this.env = isolatedEnv(this.home, { RUSTORY_SWARM_KEY_PATH: swarmKeyPath, RUSTORY_DEVICE_ID: this.deviceId, RUSTORY_USER_ID: 'chaos' })
  }

  #spawn (args: string[], onLine?: (line: string) => void, logName?: string): ManagedProcess {
    const child = spawn(process.execPath, [rrBin, '--db-path', this.dbPath, ...args], { env: this.env, cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] })
    const logPath = logName != null ? join(this.home, logName) : undefined
    const tail = new LineTap(40, logPath == null ? onLine : (line) => { appendFileSync(logPath, `${new Date().toISOString()} ${line}\n`); onLine?.(line) })
    child.stdout!.on('data', (d: Buffer) => tail.push(d))
    child.stderr!.on('data', (d: Buffer) => tail.push(d))
    const exited = new Promise<void>((resolve) => child.once('close', () => resolve()))
    return { child, paused: false, exited, tail }
  }

  /** Starts `rr p2p-serve` on the device's fixed port; resolves once it printed its address. */
  async startServe (timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs
    for (let attempt = 1; ; attempt++) {
      let resolveReady: (addr: string) => void = () => {}
      const ready = new Promise<string>((resolve) => { resolveReady = resolve })
      const p = this.#spawn(['p2p-serve', '--listen', `/ip4/127.0.0.1/tcp/${this.port}`], (line) => {
        const m = /^p2p listen: (\S+\/p2p\/(\S+))$/.exec(line)
        if (m != null) resolveReady(m[1]!)
      }, 'serve.log')
      this.serve = p
      const outcome = await Promise.race([ready, p.exited.then(() => undefined), sleep(Math.max(1000, deadline - Date.now())).then(() => null)])
      if (typeof outcome === 'string') {
        this.addr = outcome
        this.peerId = outcome.split('/p2p/')[1]
        return
      }
      if (alive(p)) p.child.kill('SIGKILL')
      appendFileSync(join(this.home, 'serve.log'), `${new Date().toISOString()} harness: p2p-serve attempt ${attempt} did not come up (${outcome === null ? 'timeout' : `exit ${String(p.child.exitCode)}`})\n`)
      // The port can stay busy for a moment after a kill -9; retry until the deadline.
      if (Date.now() > deadline) throw new Error(`device ${this.index}: p2p-serve did not start (attempt ${attempt}): ${p.tail.lines.join('\n')}`)
      await sleep(300)
    }
  }

  startSync (peers: string[], options: SyncProcessOptions): void {
    this.syncPeers = peers
    const args = ['p2p-sync', '--peers', peers.join(','), '--watch', '--interval-sec', String(options.intervalSec), '--limit', String(options.limit)]
    if (options.push) args.push('--push')
    this.sync = this.#spawn(args, (line) => {
      if (line.startsWith('sync: ')) {
        if (/ ok /.test(line)) this.syncOk++
        else this.syncFailed++
      }
      this.events.onSyncLine?.(this, line)
    }, 'sync.log')
  }

  /** Runs `rr p2p-sync --peers …` once (no --watch) and resolves with its exit code and output. */
  async syncOnce (peers: string[], extra: string[] = [], timeoutMs = 120_000): Promise<{ code: number | null, output: string }> {
    const p = this.#spawn(['p2p-sync', '--peers', peers.join(','), ...extra])
    let output = ''
    p.child.stdout!.on('data', (d: Buffer) => { output += d.toString() })
    p.child.stderr!.on('data', (d: Buffer) => { output += d.toString() })
    const timer = setTimeout(() => p.child.kill('SIGKILL'), timeoutMs)
    await p.exited
    clearTimeout(timer)
    return { code: p.child.exitCode, output }
  }

  /** Records one command through the real CLI; returns its entry_id, or undefined when it failed. */
  async record (cmd: string): Promise<string | undefined> {
    const p = this.#spawn(['record', '--cmd', cmd, '--cwd', '/tmp', '--exit-code', '0', '--duration-ms', '5', '--shell', 'bash', '--print-id'])
    let out = ''
    p.child.stdout!.on('data', (d: Buffer) => { out += d.toString() })
    await p.exited
    const id = out.trim()
    if (/^[0-9a-f-]{36}$/.test(id)) {
      this.recorded.add(id)
      return id
    }
    this.recordFailures++
    if (this.recordErrors.length < 3) this.recordErrors.push(`exit ${String(p.child.exitCode)} signal ${String(p.child.signalCode)}: ${p.tail.lines.join(' | ')} stdout=${JSON.stringify(out)}`)
    return undefined
  }

  /** Entries this device deleted with `rr delete` (it exited 0: the tombstones are committed). */
  readonly deleted = new Set<string>()

  /** Deletes entries through the real CLI (`rr delete <id>…`); returns whether it succeeded. */
  async delete (ids: readonly string[]): Promise<boolean> {
    const p = this.#spawn(['delete', ...ids])
    await p.exited
    if (p.child.exitCode !== 0) return false
    for (const id of ids) this.deleted.add(id)
    return true
  }

  /** Inserts `n` of this device's own entries directly (a backlog, so the first pulls take many batches). */
  seed (n: number, random: () => number, cmdBytes = 200): void {
    const db = openDatabase(this.dbPath)
    try {
      const base = Date.parse('2026-01-01T00:00:00.000Z') + this.index * 1000
      const entries: Entry[] = []
      for (let i = 0; i < n; i++) {
        const id = uuidFrom(random)
        entries.push({
          entry_id: id,
          device_id: this.deviceId,
          user_id: 'chaos',
          ts: new Date(base + i * 7919).toISOString(),
          cmd: `seeded ${this.index}/${i} ${'x'.repeat(Math.floor(random() * cmdBytes))}`,
          cwd: `/home/chaos/${i % 17}`,
          exit_code: i % 3,
          duration_ms: i,
          shell: 'zsh',
          hostname: `host-${this.index}`,
          version: '0.1.0'
        })
        this.recorded.add(id)
      }
      insertEntries(db, entries)
    } finally {
      db.close()
    }
  }

  recordLog (): string {
    const path = join(this.home, '.rustory', 'record.log')
    return existsSync(path) ? readFileSync(path, 'utf8') : ''
  }

  isServeUp (): boolean { return alive(this.serve) }
  isSyncUp (): boolean { return alive(this.sync) }

  /** SIGKILLs a process and waits until it is gone. */
  async kill (which: 'serve' | 'sync'): Promise<void> {
    const p = this[which]
    if (!alive(p)) return
    p.child.kill('SIGKILL')
    await p.exited
  }

  pause (which: 'serve' | 'sync'): boolean {
    const p = this[which]
    if (!alive(p) || p.paused) return false
    p.child.kill('SIGSTOP')
    p.paused = true
    return true
  }

  resume (which: 'serve' | 'sync'): void {
    const p = this[which]
    if (p == null || !p.paused) return
    p.paused = false
    if (alive(p)) p.child.kill('SIGCONT')
  }

  /** Resumes, then stops both long-running processes (SIGTERM, SIGKILL after a grace period). */
  async stopAll (graceMs = 5000): Promise<void> {
    for (const which of ['serve', 'sync'] as const) this.resume(which)
    await Promise.all((['sync', 'serve'] as const).map(async (which) => {
      const p = this[which]
      if (!alive(p)) return
      const timer = setTimeout(() => p.child.kill('SIGKILL'), graceMs)
      p.child.kill('SIGTERM')
      await p.exited
      clearTimeout(timer)
    }))
  }
}

/** A UUID v4 from the seeded PRNG. */
export function uuidFrom (random: () => number): string {
  const b = Buffer.alloc(16)
  for (let i = 0; i < 16; i++) b[i] = Math.floor(random() * 256)
  b[6] = (b[6]! & 0x0f) | 0x40
  b[8] = (b[8]! & 0x3f) | 0x80
  const hex = b.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/** Every device's entry_id set, read through a fresh read-only handle. */
export function entryIdSets (devices: readonly Device[]): Array<Set<string>> {
  return devices.map((d) => {
    const db = openDatabase(d.dbPath, { readonly: true })
    try {
      return new Set((db.prepare('SELECT entry_id FROM entries').pluck().all() as string[]))
    } finally {
      db.close()
    }
  })
}

/** How many of `ids` each database holds a tombstone for. */
function tombstoneCounts (devices: readonly Device[], ids: ReadonlySet<string>): number[] {
  return devices.map((d) => {
    if (ids.size === 0) return 0
    const db = openDatabase(d.dbPath, { readonly: true })
    try {
      const has = db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'tombstones'").get() != null
      return has ? (db.prepare('SELECT COUNT(*) FROM tombstones WHERE entry_id IN (SELECT value FROM json_each(?))').pluck().get(JSON.stringify([...ids])) as number) : 0
    } finally {
      db.close()
    }
  })
}

/**
 * Polls until every database holds exactly `expected` and a tombstone for every id in `deleted`; resolves with the
 * time it took, or undefined on timeout.
 */
export async function waitForConvergence (devices: readonly Device[], expected: ReadonlySet<string>, timeoutMs: number, pollMs = 500, deleted: ReadonlySet<string> = new Set()): Promise<number | undefined> {
  const started = Date.now()
  while (Date.now() - started < timeoutMs) {
    const sets = entryIdSets(devices)
    if (sets.every((s) => s.size === expected.size && [...expected].every((id) => s.has(id))) &&
      tombstoneCounts(devices, deleted).every((n) => n === deleted.size)) return Date.now() - started
    await sleep(pollMs)
  }
  return undefined
}

export interface Verdict {
  entries: number
  /** Recorded entries missing from at least one database (counted once per database that lacks them). */
  lost: number
  /** Rows beyond the first for the same entry_id, over all databases. */
  duplicated: number
  /** Rows present somewhere that nobody recorded. */
  unexpected: number
  /** Rows whose spec columns differ from the recording device's row. */
  mismatched: number
  /** Deleted entries back in the database of the device that deleted them. */
  resurrected: number
  /** Deleted entries still in another device's database, or a device without their tombstone (once per device). */
  undeleted: number
  problems: string[]
}

type Row = Entry & { ingest_seq: number }

/**
 * The checks of a converged cluster: every database has exactly the union of recorded entry_ids, no duplicates,
 * identical rows per entry_id (spec columns), integrity_check ok, and every peer cursor at most the source's max
 * ingest_seq (push cursors at most our own).
 */
export function verifyCluster (devices: readonly Device[]): Verdict {
  const problems: string[] = []
  const deletedBy = new Map<string, Device>()
  for (const d of devices) for (const id of d.deleted) deletedBy.set(id, d)
  const expected = new Set<string>()
  for (const d of devices) for (const id of d.recorded) if (!deletedBy.has(id)) expected.add(id)
  let resurrected = 0
  let undeleted = 0
  const tombs = tombstoneCounts(devices, new Set(deletedBy.keys()))
  const byPeerId = new Map(devices.map((d) => [d.peerId ?? '', d]))
  const maxSeq = new Map<Device, number>()
  const rows = new Map<Device, Row[]>()
  const cursors = new Map<Device, { pull: Array<{ peer_id: string, last_cursor: number }>, push: Array<{ peer_id: string, last_pushed_seq: number }> }>()
  for (const d of devices) {
    const db = openDatabase(d.dbPath, { readonly: true })
    try {
      const check = db.pragma('integrity_check', { simple: true }) as string
      if (check !== 'ok') problems.push(`device ${d.index}: integrity_check: ${check}`)
      rows.set(d, db.prepare(`SELECT ingest_seq, ${entryFields.join(', ')} FROM entries ORDER BY ingest_seq`).all() as Row[])
      maxSeq.set(d, (db.prepare('SELECT COALESCE(MAX(ingest_seq), 0) FROM entries').pluck().get() as number))
      cursors.set(d, {
        pull: db.prepare('SELECT peer_id, last_cursor FROM peer_state').all() as Array<{ peer_id: string, last_cursor: number }>,
        push: db.prepare('SELECT peer_id, last_pushed_seq FROM peer_push_state').all() as Array<{ peer_id: string, last_pushed_seq: number }>
      })
    } finally {
      db.close()
    }
  }
  const canonical = (r: Row): string => JSON.stringify(entryFields.map((f) => r[f]))
  // The reference row of an entry is the one in the recording device's database.
  const reference = new Map<string, string>()
  for (const d of devices) for (const r of rows.get(d)!) if (d.recorded.has(r.entry_id)) reference.set(r.entry_id, canonical(r))
  let lost = 0
  let duplicated = 0
  let unexpected = 0
  let mismatched = 0
  for (const d of devices) {
    const seen = new Map<string, number>()
    if (tombs[devices.indexOf(d)]! < deletedBy.size) {
      undeleted += deletedBy.size - tombs[devices.indexOf(d)]!
      problems.push(`device ${d.index}: ${deletedBy.size - tombs[devices.indexOf(d)]!} tombstones missing`)
    }
    for (const r of rows.get(d)!) {
      seen.set(r.entry_id, (seen.get(r.entry_id) ?? 0) + 1)
      const by = deletedBy.get(r.entry_id)
      if (by != null) {
        if (by === d) resurrected++
        else undeleted++
        if (resurrected + undeleted <= 5) problems.push(`device ${d.index}: deleted entry ${r.entry_id} (by device ${by.index}) is present`)
        continue
      }
      if (!expected.has(r.entry_id)) { unexpected++; if (unexpected <= 5) problems.push(`device ${d.index}: unexpected entry ${r.entry_id}`) }
      const ref = reference.get(r.entry_id)
      if (ref != null && ref !== canonical(r)) { mismatched++; if (mismatched <= 5) problems.push(`device ${d.index}: row of ${r.entry_id} differs: ${canonical(r)} vs ${ref}`) }
    }
    for (const n of seen.values()) if (n > 1) duplicated += n - 1
    const missing = [...expected].filter((id) => !seen.has(id))
    lost += missing.length
    if (missing.length > 0) problems.push(`device ${d.index}: ${missing.length} entries missing (first ${missing.slice(0, 3).join(', ')})`)
    const c = cursors.get(d)!
    for (const { peer_id: peerId, last_cursor: cursor } of c.pull) {
      const source = byPeerId.get(peerId)
      if (source == null) { problems.push(`device ${d.index}: peer_state for unknown peer ${peerId}`); continue }
      if (cursor > maxSeq.get(source)!) problems.push(`device ${d.index}: cursor ${cursor} for device ${source.index} is past its max ingest_seq ${maxSeq.get(source)!}`)
    }
    for (const { peer_id: peerId, last_pushed_seq: seq } of c.push) {
      if (seq > maxSeq.get(d)!) problems.push(`device ${d.index}: push cursor ${seq} toward ${peerId} is past its own max ingest_seq ${maxSeq.get(d)!}`)
    }
  }
  if (duplicated > 0) problems.push(`${duplicated} duplicated rows`)
  return { entries: expected.size, lost, duplicated, unexpected, mismatched, resurrected, undeleted, problems }
}
