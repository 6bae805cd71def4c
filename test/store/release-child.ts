/**
 * A second process on the same database file, for test/store/release-compat.test.ts. Modes:
 *  - migrate <db> <entries.json>: opens the file with this rustory (which migrates it), inserts the entries in the
 *    JSON ({ received: Entry[], local: Entry[] }), prints one JSON line with what it saw;
 *  - write-old <db> <batches>: rustory 0.1.0 writing, as a pulling `p2p-sync --watch` would: opens the file as that
 *    release does, prints "writing" after its first batch, then goes on batch after batch (16 entries each, the
 *    peer cursor with them) until it has seen the file migrated under it and written <batches> more; prints one
 *    JSON line at the end;
 *  - write-v10 <db> <batches>: the schema-level-10 rustory (signed entries, before chunk signatures) writing as its
 *    pull would, with its own statement (origin, sig, trust; no chunk column): a signed row and an unsigned one per
 *    step, inside an open read transaction between steps (a reader holding the file), until it has seen the chunks
 *    table appear and written <batches> more steps; prints "writing" first and one JSON line at the end.
 */
import { randomUUID } from 'node:crypto'
import Database from 'better-sqlite3'
import { readFileSync } from 'node:fs'
import type { Entry } from '../../src/core/entry.js'
import { openDatabase } from '../../src/store/db.js'
import { insertEntries } from '../../src/store/entries.js'
import { schemaLevel } from '../../src/store/schema.js'
import { releaseOpen, releaseStatements, type ReleaseEntry } from './release-0.1.0.js'

const [mode, dbPath, arg] = process.argv.slice(2)
const nap = new Int32Array(new SharedArrayBuffer(4))

if (mode === 'migrate') {
  const { received, local } = JSON.parse(readFileSync(arg!, 'utf8')) as { received: Entry[], local: Entry[] }
  const db = openDatabase(dbPath!)
  const r = insertEntries(db, received, 'received')
  const l = insertEntries(db, local, 'local')
  process.stdout.write(JSON.stringify({ level: schemaLevel(db), userVersion: db.pragma('user_version', { simple: true }), received: r, local: l }) + '\n')
  db.close()
} else if (mode === 'write-old') {
  const db = releaseOpen(dbPath!)
  const old = releaseStatements(db)
  const hasRivalColumn = (): boolean => db.prepare("SELECT 1 FROM pragma_table_info('entries') WHERE name = 'rival_of'").get() != null
  const migratedAtStart = hasRivalColumn()
  let inserted = 0
  let sawMigration = false
  const ids: string[] = []
  const batchesAfter = Number(arg)
  let after = 0
  for (let b = 0; after < batchesAfter && b < 10_000; b++) {
    const batch: ReleaseEntry[] = Array.from({ length: 16 }, (_, i) => {
      const id = randomUUID()
      ids.push(id)
      return { entry_id: id, device_id: 'old-peer', user_id: 'u', ts: new Date(Date.UTC(2026, 0, 1, 0, 0, 0, b * 16 + i)).toISOString(), cmd: `old ${b} ${i}`, cwd: '/', exit_code: 0, duration_ms: 1, shell: 'zsh', hostname: 'old', version: '0.1.0' }
    })
    inserted += old.ingestPulledBatch('old-peer-id', batch, b + 1)
    if (b === 0) process.stdout.write('writing\n')
    if (sawMigration) after++
    else if (hasRivalColumn()) sawMigration = true
    Atomics.wait(nap, 0, 0, 2)
  }
  process.stdout.write(JSON.stringify({ inserted, migratedAtStart, sawMigration, ids }) + '\n')
  db.close()
} else if (mode === 'write-v10') {
  const db = new Database(dbPath!)
  db.pragma('busy_timeout = 10000')
  const insert = db.prepare(`INSERT INTO entries (entry_id, device_id, user_id, ts, cmd, cwd, exit_code, duration_ms, shell, hostname, version, origin, sig, trust)
      VALUES (?, 'v10-peer', 'u', ?, ?, '/', 0, 1, 'zsh', 'v10', '0.1.0', ?, ?, ?) ON CONFLICT(entry_id) DO NOTHING`)
  const count = db.prepare('SELECT COUNT(*) FROM entries').pluck()
  const hasChunks = (): boolean => db.prepare("SELECT 1 FROM sqlite_schema WHERE name = 'chunks'").get() != null
  const { signed } = JSON.parse(readFileSync(arg!.split(':')[1]!, 'utf8')) as { signed: Entry[] }
  const batchesAfter = Number(arg!.split(':')[0])
  let inserted = 0
  let after = 0
  let sawMigration = false
  const ids: string[] = []
  for (let b = 0; after < batchesAfter && b < 10_000; b++) {
    const s = signed[b % signed.length]!
    inserted += insert.run(s.entry_id, s.ts, s.cmd, s.origin, s.sig, 1).changes
    const id = randomUUID()
    ids.push(id)
    inserted += insert.run(id, new Date(Date.UTC(2026, 0, 1, 0, 0, 0, b)).toISOString(), `v10 ${b}`, '', null, 0).changes
    // A reader's snapshot held across the next step's wait, as a long ctrl+r query or export would.
    db.prepare('BEGIN').run()
    count.get()
    if (b === 0) process.stdout.write('writing\n')
    Atomics.wait(nap, 0, 0, 2)
    db.prepare('COMMIT').run()
    if (sawMigration) after++
    else if (hasChunks()) sawMigration = true
  }
  process.stdout.write(JSON.stringify({ inserted, sawMigration, ids }) + '\n')
  db.close()
} else {
  throw new Error(`unknown mode ${mode ?? ''}`)
}
