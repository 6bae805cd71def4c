/** Real rustory devices for integration tests: each its own HOME and DB, all sharing one swarm key. */
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import type { ChildProcess } from 'node:child_process'
import type { ExecutionContext } from 'ava'
import Database from 'better-sqlite3'
import { openDatabase } from '../../src/store/db.js'
import { drainForTest } from './db.js'
import { ensureSwarmKey } from './keys.js'
import { isolatedEnv, rr, rrSpawn, stop, type RunResult } from './cli.js'

export interface Device {
  name: string
  home: string
  dbPath: string
  env: NodeJS.ProcessEnv
  /** Runs `rr --db-path <db> <args>` as this device. */
  rr: (args: string[], options?: { timeoutMs?: number }) => Promise<RunResult>
  /** Records n commands; returns their entry ids. */
  record: (n: number, prefix?: string) => Promise<string[]>
  /** Starts `rr p2p-serve` on 127.0.0.1 (on `listen`, else a port the OS picks) and returns its multiaddr. */
  serve: (extra?: string[], listen?: string) => Promise<{ addr: string, child: ChildProcess, output: () => string }>
  entryIds: () => string[]
  query: <T>(sql: string, ...params: unknown[]) => T[]
}

export function device (t: ExecutionContext, dir: string, name: string, swarmKeyPath: string, extraEnv: Record<string, string> = {}): Device {
  const home = join(dir, name)
  mkdirSync(home, { recursive: true })
  const dbPath = join(home, 'history.db')
  ensureSwarmKey(swarmKeyPath)
  const env = isolatedEnv(home, { RUSTORY_SWARM_KEY_PATH: swarmKeyPath, RUSTORY_DEVICE_ID: name, RUSTORY_HTTP_TOKEN: 'test-http-token-20ch', ...extraEnv })
  const children: ChildProcess[] = []
  t.teardown(async () => { await Promise.all(children.map(async (c) => await stop(c))) })
  const self: Device = {
    name,
    home,
    dbPath,
    env,
    rr: async (args, options = {}) => await rr(['--db-path', dbPath, ...args], { env, ...(options.timeoutMs != null ? { timeoutMs: options.timeoutMs } : {}) }),
    record: async (n, prefix = `${name} cmd`) => {
      const ids: string[] = []
      for (let i = 0; i < n; i++) {
        const r = await self.rr(['record', '--cmd', `${prefix} ${i}`, '--cwd', '/tmp', '--exit-code', String(i % 3), '--duration-ms', String(i), '--shell', 'zsh', '--print-id'])
        ids.push(r.stdout.trim())
      }
      return ids
    },
    serve: async (extra = [], listen = '/ip4/127.0.0.1/tcp/0') => {
      const { child, match, output } = await rrSpawn(['--db-path', dbPath, 'p2p-serve', '--listen', listen, ...extra], { env, ready: /p2p listen: (\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/\w+)/ })
      children.push(child)
      return { addr: match[1]!, child, output }
    },
    entryIds: () => self.query<{ entry_id: string }>('SELECT entry_id FROM entries ORDER BY entry_id').map((r) => r.entry_id),
    query: <T>(sql: string, ...params: unknown[]): T[] => {
      // As rr's readers do: this device's recorded commands move from the spool into the database first.
      drainForTest(dbPath)
      return queryFile<T>(dbPath, sql, ...params)
    }
  }
  return self
}

/** Rows of one query on a database file opened read-only, as it is (no migration, no spool drained). */
export function queryFile<T> (dbPath: string, sql: string, ...params: unknown[]): T[] {
  const db = new Database(dbPath, { readonly: true })
  try {
    return db.prepare(sql).all(...params) as T[]
  } finally {
    db.close()
  }
}

/** Inserts n synthetic entries of one device straight into a DB (fast setup for large tests). */
export function seedEntries (dbPath: string, n: number, deviceId: string, options: { cmdBytes?: number } = {}): void {
  const db = openDatabase(dbPath)
  const pad = 'x'.repeat(Math.max(0, (options.cmdBytes ?? 20) - 20))
  const stmt = db.prepare(`INSERT INTO entries (entry_id, device_id, user_id, ts, cmd, cwd, exit_code, duration_ms, shell, hostname, version)
    VALUES (lower(hex(randomblob(4))) || '-' || lower(hex(randomblob(2))) || '-4' || substr(lower(hex(randomblob(2))),2) || '-a' || substr(lower(hex(randomblob(2))),2) || '-' || lower(hex(randomblob(6))), ?, 'u', ?, ?, '/tmp', 0, 1, 'zsh', 'h', '0.1.0')`)
  db.transaction(() => {
    const base = Date.parse('2026-01-01T00:00:00.000Z')
    for (let i = 0; i < n; i++) stmt.run(deviceId, new Date(base + i * 1000).toISOString(), `seed ${deviceId} ${i} ${pad}`)
  })()
  db.close()
}
