/** Test databases with hand-written entries (real SQLite files in a temp dir). */
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import type { ExecutionContext } from 'ava'
import type { Entry } from '../../src/core/entry.js'
import { openDatabase } from '../../src/store/db.js'
import { insertEntries } from '../../src/store/entries.js'
import { tempDir } from '../helpers/tmp.js'

export function entry (over: Partial<Entry> & { cmd: string, ts: string }): Entry {
  return {
    entry_id: randomUUID(),
    device_id: 'dev-a',
    user_id: 'u',
    cwd: '/home/u',
    exit_code: 0,
    duration_ms: 1,
    shell: 'zsh',
    hostname: 'host-a',
    version: '0.1.0',
    ...over
  }
}

/** A database file holding these entries; returns its path and its temp dir. */
export function dbWith (t: ExecutionContext, entries: Entry[]): { dbPath: string, dir: string } {
  const dir = tempDir(t)
  const dbPath = join(dir, 'history.db')
  const db = openDatabase(dbPath)
  try {
    insertEntries(db, entries)
  } finally {
    db.close()
  }
  return { dbPath, dir }
}

/** Splits NUL-terminated records. */
export function records (bytes: Uint8Array | string): string[] {
  const text = typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8')
  if (text === '') return []
  return text.slice(0, -1).split('\0')
}
