/**
 * Reading a test's SQLite file back as rr's own readers do: the record spool is drained into it first (through the
 * product's drainSpoolFor), then it is read read-only; a database not created yet has no rows.
 */
import { existsSync } from 'node:fs'
import type { StoredEntry } from '../../src/core/entry.js'
import { drainSpoolFor, openDatabase, type SpoolDrainOutcome } from '../../src/store/db.js'
import { readCounters } from '../../src/store/peers.js'

const second = 1000

/** Drains the spool of `dbPath` like `rr history` does, but waits out a lock (a test wants every row). */
export function drainForTest (dbPath: string): SpoolDrainOutcome {
  return drainSpoolFor(dbPath, { busyTimeoutMs: 20 * second })
}

export function readRows (dbPath: string, orderBy: 'ingest_seq' | 'ts' = 'ingest_seq'): StoredEntry[] {
  drainForTest(dbPath)
  if (!existsSync(dbPath)) return []
  const db = openDatabase(dbPath, { readonly: true })
  try {
    return db.prepare(`SELECT * FROM entries ORDER BY ${orderBy}`).all() as StoredEntry[]
  } finally {
    db.close()
  }
}

export function readCountersAt (dbPath: string): Record<string, number> {
  drainForTest(dbPath)
  const db = openDatabase(dbPath, { readonly: true })
  try {
    return readCounters(db)
  } finally {
    db.close()
  }
}
