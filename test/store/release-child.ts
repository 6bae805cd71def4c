/**
 * A second process on the same database file, for test/store/release-compat.test.ts. Modes:
 *  - migrate <db> <entries.json>: opens the file with this rustory (which migrates it), inserts the entries in the
 *    JSON ({ received: Entry[], local: Entry[] }), prints one JSON line with what it saw;
 *  - write-old <db> <batches>: rustory 0.1.0 writing, as a pulling `p2p-sync --watch` would: opens the file as that
 *    release does, prints "writing" after its first batch, then goes on batch after batch (16 entries each, the
 *    peer cursor with them) until it has seen the file migrated under it and written <batches> more; prints one
 *    JSON line at the end.
 */
import { randomUUID } from 'node:crypto'
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
} else {
  throw new Error(`unknown mode ${mode ?? ''}`)
}
