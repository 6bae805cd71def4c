/**
 * The reference every ingest figure is compared with: the same rows written by a bare better-sqlite3 loop into a
 * fresh rustory database (same schema, same indexes), one prepared statement run per row, one transaction per
 * `batch` rows, rows already in memory. The database it leaves is the one rustory leaves: with `commandLatest`
 * (the default) the loop also upserts each inserted row into command_latest, one statement per row, as the v3
 * trigger did; without it, only `entries` is written (what the bare loop cost before command_latest existed).
 */
import { rmSync } from 'node:fs'
import { entryFields } from '../../src/core/entry.js'
import { openDatabase } from '../../src/store/db.js'

export interface BareLoopResult {
  ms: number
  rows: number
}

export function freshTarget (path: string): void {
  for (const suffix of ['', '-wal', '-shm']) rmSync(`${path}${suffix}`, { force: true })
}

/** `rows` are value arrays in entryFields order. */
export function bareLoop (rows: readonly unknown[][], targetPath: string, options: { commandLatest?: boolean, batch?: number } = {}): BareLoopResult {
  freshTarget(targetPath)
  const db = openDatabase(targetPath)
  const insert = db.prepare(`INSERT OR IGNORE INTO entries (${entryFields.join(', ')}) VALUES (${entryFields.map(() => '?').join(', ')})`)
  const latest = db.prepare(`INSERT INTO command_latest (ts, device_id, entry_id, cmd) VALUES (?, ?, ?, ?)
    ON CONFLICT (cmd) DO UPDATE SET ts = excluded.ts, device_id = excluded.device_id, entry_id = excluded.entry_id
      WHERE (excluded.ts, excluded.device_id, excluded.entry_id) > (command_latest.ts, command_latest.device_id, command_latest.entry_id)`)
  const withLatest = options.commandLatest ?? true
  const at = Object.fromEntries(entryFields.map((f, i) => [f, i])) as Record<(typeof entryFields)[number], number>
  const batch = options.batch ?? 10_000
  const started = performance.now()
  for (let i = 0; i < rows.length; i += batch) {
    db.transaction(() => {
      for (const r of rows.slice(i, i + batch)) {
        if (insert.run(...r).changes === 1 && withLatest) latest.run(r[at.ts], r[at.device_id], r[at.entry_id], r[at.cmd])
      }
    })()
  }
  const ms = performance.now() - started
  db.close()
  return { ms, rows: rows.length }
}
