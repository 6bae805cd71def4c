/**
 * Forgetting bench: `rr delete --filter` over 1M entries (the selection scan, the deletes with secure_delete, the
 * command_latest recompute and the WAL truncate), and the sync of 100k tombstones from one peer to another that
 * holds the 100k entries (pull over libp2p on loopback, each tombstone deleting its entry).
 */
import { spawn } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { entryFields } from '../../src/core/entry.js'
import { openDatabase } from '../../src/store/db.js'
import { deleteEntries } from '../../src/store/tombstones.js'
import { ensureSwarmKey } from '../helpers/keys.js'

const rrBin = fileURLToPath(new URL('../../../bin/rr', import.meta.url))

function env (home: string, swarm: string): NodeJS.ProcessEnv {
  const e: NodeJS.ProcessEnv = { ...process.env, HOME: home, RUSTORY_SWARM_KEY_PATH: swarm, RUSTORY_DEVICE_ID: 'bench' }
  delete e.NODE_EXTRA_CA_CERTS
  return e
}

/** n entries; one in `every` is `curl … needle-<i> …` (what the filter deletes), the rest ordinary commands. */
function seed (dbPath: string, n: number, every: number): string[] {
  const db = openDatabase(dbPath)
  const ids: string[] = []
  const stmt = db.prepare(`INSERT INTO entries (${entryFields.join(', ')}) VALUES (?, 'bench-a', 'u', ?, ?, ?, 0, 1, 'zsh', 'host-a', '0.1.0')`)
  const base = Date.parse('2025-01-01T00:00:00.000Z')
  db.transaction(() => {
    for (let i = 0; i < n; i++) {
      const id = `00000000-0000-4000-8000-${i.toString(16).padStart(12, '0')}`
      ids.push(id)
      const cmd = i % every === 0 ? `curl -s https://api.example/needle-${i % 5000}` : `git commit -m "change number ${i}" && make test-${i % 97}`
      stmt.run(id, new Date(base + i * 1000).toISOString(), cmd, `/home/u/project-${i % 50}`)
    }
  })()
  db.prepare(`INSERT INTO command_latest (ts, device_id, entry_id, cmd) SELECT ts, device_id, entry_id, cmd FROM entries WHERE true
    ON CONFLICT (cmd) DO UPDATE SET ts = excluded.ts, device_id = excluded.device_id, entry_id = excluded.entry_id
      WHERE (excluded.ts, excluded.device_id, excluded.entry_id) > (command_latest.ts, command_latest.device_id, command_latest.entry_id)`).run()
  db.close()
  return ids
}

async function run (args: string[], e: NodeJS.ProcessEnv): Promise<{ ms: number, out: string }> {
  const started = performance.now()
  const child = spawn(process.execPath, [rrBin, ...args], { env: e, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr.on('data', (d: Buffer) => { out += d.toString() })
  const code = await new Promise<number | null>((resolve) => child.once('exit', resolve))
  if (code !== 0) throw new Error(`rr ${args.join(' ')} exited ${code}: ${out}`)
  return { ms: performance.now() - started, out }
}

function count (dbPath: string, sql: string): number {
  const db = new Database(dbPath, { readonly: true })
  try {
    return db.prepare(sql).pluck().get() as number
  } finally {
    db.close()
  }
}

export async function benchForget (entries = Number(process.env.BENCH_FORGET_ENTRIES ?? 1_000_000), tombstones = Number(process.env.BENCH_FORGET_TOMBSTONES ?? 100_000)): Promise<Record<string, string | number>> {
  const dir = mkdtempSync(join(tmpdir(), 'rustory-bench-forget-'))
  try {
    const swarm = join(dir, 'swarm.key')
    ensureSwarmKey(swarm)
    const figures: Record<string, string | number> = {}

    // 1. rr delete --filter over 1M entries: 1% match.
    const home = join(dir, 'f')
    mkdirSync(home)
    const db = join(home, 'h.db')
    seed(db, entries, 100)
    const dry = await run(['--db-path', db, 'delete', '--filter', "'needle", '--dry-run'], env(home, swarm))
    const del = await run(['--db-path', db, 'delete', '--filter', "'needle", '--yes'], env(home, swarm))
    const deleted = Number(/deleted (\d+) entries/.exec(del.out)?.[1] ?? NaN)
    figures['delete --filter: entries in the database'] = entries
    figures['delete --filter: entries deleted'] = deleted
    figures['delete --filter --dry-run wall s (scan + match, incl. process start)'] = (dry.ms / 1000).toFixed(2)
    figures['delete --filter --yes wall s (incl. process start)'] = (del.ms / 1000).toFixed(2)
    figures['delete --filter deleted entries/s'] = Math.round(deleted / (del.ms / 1000))
    figures['delete --filter: left'] = count(db, 'SELECT COUNT(*) FROM entries')

    // 2. 100k tombstones pulled by a peer that holds the 100k entries.
    const homeA = join(dir, 'a')
    const homeB = join(dir, 'b')
    mkdirSync(homeA)
    mkdirSync(homeB)
    const dbA = join(homeA, 'a.db')
    const dbB = join(homeB, 'b.db')
    const ids = seed(dbA, tombstones, 1_000_000_000)
    copyFileSync(dbA, dbB)
    const a = openDatabase(dbA)
    const localStarted = performance.now()
    deleteEntries(a, ids, { deviceId: 'bench-a' })
    const localMs = performance.now() - localStarted
    a.close()
    figures['tombstones: local delete of 100k by id s (in process)'] = (localMs / 1000).toFixed(2)
    const serve = spawn(process.execPath, [rrBin, '--db-path', dbA, 'p2p-serve', '--listen', '/ip4/127.0.0.1/tcp/0'], { env: env(homeA, swarm), stdio: ['ignore', 'pipe', 'inherit'] })
    try {
      const addr = await new Promise<string>((resolve, reject) => {
        let out = ''
        serve.stdout.on('data', (d: Buffer) => {
          out += d.toString()
          const m = /p2p listen: (\S+)/.exec(out)
          if (m != null) resolve(m[1]!)
        })
        serve.once('exit', (code) => reject(new Error(`p2p-serve exited ${code}: ${out}`)))
      })
      const sync = await run(['--db-path', dbB, 'p2p-sync', '--peers', addr, '--limit', '20000'], env(homeB, swarm))
      const left = count(dbB, 'SELECT COUNT(*) FROM entries')
      const got = count(dbB, 'SELECT COUNT(*) FROM tombstones')
      figures['tombstones synced'] = got
      figures['tombstones: entries left on the pulling peer'] = left
      figures['tombstone sync wall s (incl. process start, dial)'] = (sync.ms / 1000).toFixed(2)
      figures['tombstone sync tombstones/s'] = Math.round(got / (sync.ms / 1000))
    } finally {
      serve.kill('SIGTERM')
      await new Promise((resolve) => serve.once('exit', resolve))
    }
    return figures
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await benchForget()
  for (const [k, v] of Object.entries(figures)) console.log(`${k}: ${v}`)
}
