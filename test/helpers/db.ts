/** Reading a test's SQLite file back (read-only; a database not created yet has no rows). */
import { existsSync } from 'node:fs'
import type { StoredEntry } from '../../src/core/entry.js'
import { openDatabase } from '../../src/store/db.js'
import { readCounters } from '../../src/store/peers.js'

export function readRows (dbPath: string, orderBy: 'ingest_seq' | 'ts' = 'ingest_seq'): StoredEntry[] {
  if (!existsSync(dbPath)) return []
  const db = openDatabase(dbPath, { readonly: true })
  try {
    return db.prepare(`SELECT * FROM entries ORDER BY ${orderBy}`).all() as StoredEntry[]
  } finally {
    db.close()
  }
}

export function readCountersAt (dbPath: string): Record<string, number> {
  const db = openDatabase(dbPath, { readonly: true })
  try {
    return readCounters(db)
  } finally {
    db.close()
  }
}
