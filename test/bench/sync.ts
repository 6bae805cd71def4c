/**
 * Sync bench: 1M entries pulled from one peer into an empty DB over libp2p on loopback, beside the same rows
 * inserted by a bare better-sqlite3 loop in the same run. Prints entries/s, the ratio, peak RSS and the
 * event-loop delay of the syncing process.
 */
import { spawn } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { openDatabase } from '../../src/store/db.js'
import { bareLoop, freshTarget } from './bare.js'
import { entryFields } from '../../src/core/entry.js'
import { ensureSwarmKey } from '../helpers/keys.js'

const rrBin = fileURLToPath(new URL('../../../bin/rr', import.meta.url))

export function env (home: string, swarm: string): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, HOME: home, RUSTORY_SWARM_KEY_PATH: swarm }
  delete e.NODE_EXTRA_CA_CERTS
  return e
}

export function seed (dbPath: string, n: number): void {
  const db = openDatabase(dbPath)
  const stmt = db.prepare(`INSERT INTO entries (${entryFields.join(', ')}) VALUES (?, 'bench-a', 'u', ?, ?, ?, ?, ?, 'zsh', 'host-a', '0.1.0')`)
  const base = Date.parse('2025-01-01T00:00:00.000Z')
  db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const hex = i.toString(16).padStart(12, '0')
      stmt.run(`00000000-0000-4000-8000-${hex}`, new Date(base + i * 1000).toISOString(), `git commit -m "change number ${i}" && make test-${i % 97}`, `/home/u/project-${i % 50}`, i % 7 === 0 ? 1 : 0, i % 5000)
    }
  })()
  db.close()
}

/** The reference (test/bench/bare.ts): the same rows into an empty DB by a bare loop, with and without command_latest. */
function bareLoops (from: string, dir: string): { withLatest: number, entriesOnly: number } {
  const src = new Database(from, { readonly: true })
  const rows = src.prepare(`SELECT ${entryFields.join(', ')} FROM entries ORDER BY ingest_seq`).raw().all() as unknown[][]
  src.close()
  const withLatest = bareLoop(rows, join(dir, 'bare.db')).ms
  const entriesOnly = bareLoop(rows, join(dir, 'bare.db'), { commandLatest: false }).ms
  freshTarget(join(dir, 'bare.db'))
  return { withLatest, entriesOnly }
}

export async function waitForLine (child: ReturnType<typeof spawn>, pattern: RegExp): Promise<string> {
  return await new Promise((resolve, reject) => {
    let out = ''
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const m = pattern.exec(out)
      if (m != null) resolve(m[1]!)
    })
    child.once('exit', (code) => reject(new Error(`exited ${code}: ${out}`)))
  })
}

export async function benchSync (entries = Number(process.env.BENCH_SYNC_ENTRIES ?? 1_000_000), limit = 20_000): Promise<Record<string, string | number>> {
  const dir = mkdtempSync(join(tmpdir(), 'rustory-bench-sync-'))
  try {
    const swarm = join(dir, 'swarm.key')
    ensureSwarmKey(swarm)
    const homeA = join(dir, 'a')
    const homeB = join(dir, 'b')
    mkdirSync(homeA)
    mkdirSync(homeB)
    const dbA = join(homeA, 'a.db')
    const dbB = join(homeB, 'b.db')
    seed(dbA, entries)
    const bare = bareLoops(dbA, dir)
    const serve = spawn(process.execPath, [rrBin, '--db-path', dbA, 'p2p-serve', '--listen', '/ip4/127.0.0.1/tcp/0'], { env: env(homeA, swarm), stdio: ['ignore', 'pipe', 'inherit'] })
    try {
      const addr = await waitForLine(serve, /p2p listen: (\S+)/)
      const started = performance.now()
      const sync = spawn(process.execPath, [rrBin, '--db-path', dbB, 'p2p-sync', '--peers', addr, '--limit', String(limit), '--stats'], { env: env(homeB, swarm), stdio: ['ignore', 'pipe', 'pipe'] })
      let out = ''
      let err = ''
      sync.stdout!.on('data', (d: Buffer) => { out += d.toString() })
      sync.stderr!.on('data', (d: Buffer) => { err += d.toString() })
      const code = await new Promise<number | null>((resolve) => sync.once('exit', resolve))
      const syncMs = performance.now() - started
      if (code !== 0) throw new Error(`p2p-sync exited ${code}: ${out}${err}`)
      const db = new Database(dbB, { readonly: true })
      const count = (db.prepare('SELECT COUNT(*) AS n FROM entries').get() as { n: number }).n
      db.close()
      const stats = /event_loop_delay_max_ms=([\d.]+) event_loop_delay_p99_ms=([\d.]+) peak_rss_mb=(\d+) wall_ms=(\d+)/.exec(err)
      // From the command's start to its end, without node's start-up and module loading (`--stats` wall_ms).
      const commandMs = stats != null ? Number(stats[4]) : undefined
      const syncRate = count / (syncMs / 1000)
      const bareRate = entries / (bare.withLatest / 1000)
      const entriesOnlyRate = entries / (bare.entriesOnly / 1000)
      return {
        'sync entries': count,
        'sync limit per batch': limit,
        'sync wall s (incl. process start)': (syncMs / 1000).toFixed(2),
        'sync entries/s': Math.round(syncRate),
        'sync entries/s without process start-up (--stats wall_ms)': commandMs != null ? Math.round(count / (commandMs / 1000)) : 'n/a',
        'sync / bare ratio without process start-up': commandMs != null ? (count / (commandMs / 1000) / bareRate).toFixed(2) : 'n/a',
        'bare better-sqlite3 loop entries/s (entries + command_latest, the same database)': Math.round(bareRate),
        'sync / bare ratio (target >= 0.8)': (syncRate / bareRate).toFixed(2),
        'bare loop into entries only (no command_latest) entries/s': Math.round(entriesOnlyRate),
        'sync / entries-only bare ratio': (syncRate / entriesOnlyRate).toFixed(2),
        'sync peak RSS MB': stats?.[3] ?? 'n/a',
        'sync event-loop delay max ms': stats?.[1] ?? 'n/a',
        'sync event-loop delay p99 ms': stats?.[2] ?? 'n/a'
      }
    } finally {
      serve.kill('SIGTERM')
      await new Promise((resolve) => serve.once('exit', resolve))
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await benchSync()
  for (const [k, v] of Object.entries(figures)) console.log(`${k}: ${v}`)
}
