/** Fixtures for the HTTP transport tests: entries, a seeded database, an in-process server per test. */
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import type { ExecutionContext } from 'ava'
import type { Entry } from '../../src/core/entry.js'
import { startHttpServer, type HttpServer } from '../../src/http/index.js'
import { openDatabase } from '../../src/store/db.js'
import { insertEntries } from '../../src/store/entries.js'
import { WorkerPool } from '../../workers/pool.js'
import { tempDir } from '../helpers/tmp.js'

export function makeEntry (i: number, overrides: Partial<Entry> = {}): Entry {
  return {
    entry_id: randomUUID(),
    device_id: 'dev-a',
    user_id: 'alice',
    ts: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    cmd: `echo ${i}`,
    cwd: '/home/alice',
    exit_code: 0,
    duration_ms: i,
    shell: 'zsh',
    hostname: 'host-a',
    version: '0.1.0',
    ...overrides
  }
}

export function seedDb (path: string, entries: Entry[]): void {
  const db = openDatabase(path)
  try {
    insertEntries(db, entries)
  } finally {
    db.close()
  }
}

export function entryIds (path: string): string[] {
  const db = openDatabase(path)
  try {
    return (db.prepare('SELECT entry_id FROM entries ORDER BY ingest_seq').all() as Array<{ entry_id: string }>).map((r) => r.entry_id)
  } finally {
    db.close()
  }
}

/** An in-process `http-serve` over a fresh database seeded with `entries`, closed on teardown. */
export async function withHttpServer (t: ExecutionContext, entries: Entry[] = []): Promise<{ server: HttpServer, dbPath: string, log: string[] }> {
  const dbPath = join(tempDir(t), 'served.db')
  seedDb(dbPath, entries)
  const pool = new WorkerPool({ maxThreads: 1 })
  const log: string[] = []
  const server = await startHttpServer({ bind: { host: '127.0.0.1', port: 0 }, dbPath }, { pool, log: (l) => log.push(l) })
  t.teardown(async () => {
    await server.close()
    await pool.close()
  })
  return { server, dbPath, log }
}
