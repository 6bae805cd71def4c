/** Test databases with hand-written entries (real SQLite files in a temp dir). */
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import type { ExecutionContext } from 'ava'
import { entryFields, type Entry } from '../../src/core/entry.js'
import { openDatabase } from '../../src/store/db.js'
import { insertEntries } from '../../src/store/entries.js'
import { tempDir } from '../helpers/tmp.js'
import { prng } from '../helpers/prng.js'

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

export { prng }

export interface RandomEntriesOptions {
  /** Distinct commands to draw from (fewer → more repeats). */
  commands: number
  /** Distinct timestamps (few → many ties on ts). */
  times: number
  devices: number
}

/**
 * Entries with repeated commands (some multi-line, some with non-ASCII), colliding timestamps and several devices,
 * in random order; ids are ASCII so JS and SQLite order them alike.
 */
export function randomEntries (seed: number, n: number, options: RandomEntriesOptions): Entry[] {
  const random = prng(seed)
  const pick = (k: number): number => Math.floor(random() * k)
  const hex = (): string => Array.from({ length: 32 }, () => pick(16).toString(16)).join('')
  const out: Entry[] = []
  for (let i = 0; i < n; i++) {
    const c = pick(options.commands)
    const cmd = c % 7 === 0 ? `for i in ${c}; do\n  echo "$i" ✓\ndone` : c % 11 === 0 ? `echo é→${c}` : `cmd ${c}`
    const id = hex()
    out.push(entry({
      cmd,
      ts: new Date(Date.UTC(2026, 0, 1) + pick(options.times) * 1000).toISOString(),
      device_id: `dev-${pick(options.devices)}`,
      entry_id: `${id.slice(0, 8)}-${id.slice(8, 12)}-4${id.slice(13, 16)}-8${id.slice(17, 20)}-${id.slice(20)}`,
      cwd: `/p${pick(3)}`,
      hostname: `host-${pick(2)}`,
      exit_code: pick(4) === 0 ? 1 : 0
    }))
  }
  return out
}

/** UI order, newest first: ts, device_id, entry_id, all descending. */
export function newestFirst (a: Entry, b: Entry): number {
  if (a.ts !== b.ts) return a.ts < b.ts ? 1 : -1
  if (a.device_id !== b.device_id) return a.device_id < b.device_id ? 1 : -1
  return a.entry_id < b.entry_id ? 1 : a.entry_id > b.entry_id ? -1 : 0
}

/** The feed as the original algorithm computed it: every matching entry newest first, first use of each, limit. */
export function referenceFeed (entries: readonly Entry[], limit: number, keep: (e: Entry) => boolean = () => true): string[] {
  const seen = new Set<string>()
  const out: string[] = []
  for (const e of [...entries].filter(keep).sort(newestFirst)) {
    if (seen.has(e.cmd)) continue
    seen.add(e.cmd)
    out.push(e.cmd)
    if (out.length >= limit) break
  }
  return out
}

/** The most recent use of each command, keyed by command. */
export function referenceLatest (entries: readonly Entry[]): Map<string, Entry> {
  const latest = new Map<string, Entry>()
  for (const e of entries) {
    const known = latest.get(e.cmd)
    if (known == null || newestFirst(e, known) < 0) latest.set(e.cmd, e)
  }
  return latest
}

/**
 * A database at schema version 2 (before command_latest) holding these entries: created whole, then the v3 objects
 * dropped, which leaves exactly migrations 1 and 2.
 */
export function v2DbWith (t: ExecutionContext, entries: Entry[]): { dbPath: string, dir: string } {
  const dir = tempDir(t)
  const dbPath = join(dir, 'history.db')
  const db = openDatabase(dbPath)
  try {
    db.exec(`DROP TRIGGER IF EXISTS entries_command_latest;
             DROP TABLE command_latest;
             ALTER TABLE entries DROP COLUMN session_id;
             PRAGMA user_version = 2;`)
    // Plain inserts: the product's insert keeps command_latest, which a v2 database does not have.
    const insert = db.prepare(`INSERT INTO entries (${entryFields.join(', ')}) VALUES (${entryFields.map(() => '?').join(', ')})`)
    db.transaction(() => { for (const e of entries) insert.run(...entryFields.map((f) => e[f])) })()
  } finally {
    db.close()
  }
  return { dbPath, dir }
}
