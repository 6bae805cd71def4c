/**
 * The spool watcher of the long-running servers (p2p-serve, http-serve, p2p-sync --watch), with real `rr record`
 * processes and real SQLite: a recorded command reaches the database through the directory watch alone, a database
 * locked by another connection is retried until it is free, and a closed watcher drains nothing more.
 */
import { readdirSync } from 'node:fs'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import Database from 'better-sqlite3'
import { drainSpoolFor, openDatabase, type SpoolDrainOutcome } from '../../src/store/db.js'
import { spoolDirOf } from '../../src/store/spool-files.js'
import { watchSpool, type SpoolWatcher } from '../../src/store/spool-watch.js'
import { isolatedEnv, rr } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'

// Long enough that only the directory watch (or a locked-retry) can have drained within a test.
const noTimer = 10 * 60 * 1000

interface Setup { dbPath: string, record: (cmd: string) => Promise<string>, stored: () => string[], spooled: () => string[] }

function setup (t: ExecutionContext): Setup {
  const home = tempDir(t)
  const dbPath = join(home, 'history.db')
  openDatabase(dbPath).close()
  const env = isolatedEnv(home)
  return {
    dbPath,
    record: async (cmd) => {
      const r = await rr(['--db-path', dbPath, 'record', '--cmd', cmd, '--cwd', '/tmp', '--print-id'], { env })
      t.is(r.code, 0, r.stderr)
      return r.stdout.trim()
    },
    stored: () => {
      const db = new Database(dbPath, { readonly: true })
      try {
        return (db.prepare('SELECT entry_id FROM entries ORDER BY ingest_seq').all() as Array<{ entry_id: string }>).map((r) => r.entry_id)
      } finally {
        db.close()
      }
    },
    spooled: () => readdirSync(spoolDirOf(dbPath)!).filter((n) => n.endsWith('.json'))
  }
}

function watched (t: ExecutionContext, dbPath: string, extra: { lockedRetryMs?: number } = {}): { watcher: SpoolWatcher, drains: SpoolDrainOutcome[], logs: string[] } {
  const drains: SpoolDrainOutcome[] = []
  const logs: string[] = []
  const watcher = watchSpool({ dbPath, intervalMs: noTimer, debounceMs: 20, ...extra }, { onDrain: (o) => drains.push(o), log: (l) => logs.push(l) })
  t.teardown(() => watcher.close())
  return { watcher, drains, logs }
}

async function until (what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

test('commands recorded while a server runs reach its database through the directory watch, in record order', async (t) => {
  const s = setup(t)
  const { drains, logs } = watched(t, s.dbPath)
  const ids = [await s.record('first while serving'), await s.record('second while serving')]
  await until('both records in the database', () => s.stored().length === 2)
  t.deepEqual(s.stored(), ids)
  t.deepEqual(s.spooled(), [])
  t.is(drains.reduce((n, d) => n + d.inserted, 0), 2)
  t.deepEqual(logs, [])
})

test('a database locked by another connection is retried until it is free; nothing is lost meanwhile', async (t) => {
  const s = setup(t)
  const holder = new Database(s.dbPath)
  t.teardown(() => { if (holder.open) holder.close() })
  holder.exec('BEGIN IMMEDIATE')
  const { drains, logs } = watched(t, s.dbPath, { lockedRetryMs: 50 })
  const id = await s.record('recorded during a lock')
  // The watch fires and finds the write lock taken: the file stays in the spool, retried every 50 ms.
  await new Promise((resolve) => setTimeout(resolve, 600))
  t.deepEqual(s.stored(), [])
  t.is(s.spooled().length, 1)
  t.is(drains.length, 0)
  holder.exec('COMMIT')
  holder.close()
  await until('the record after the lock is released', () => s.stored().length === 1)
  t.deepEqual(s.stored(), [id])
  t.deepEqual(s.spooled(), [])
  t.deepEqual(logs, [], 'a lock is waited out, not reported as an error')
})

test('a closed watcher drains nothing more; the next explicit drain does', async (t) => {
  const s = setup(t)
  const { watcher } = watched(t, s.dbPath)
  watcher.close()
  watcher.close()
  const id = await s.record('after close')
  await new Promise((resolve) => setTimeout(resolve, 500))
  t.deepEqual(s.stored(), [])
  t.is(s.spooled().length, 1)
  t.is(watcher.drain(), undefined)
  drainSpoolFor(s.dbPath)
  t.deepEqual(s.stored(), [id])
})
