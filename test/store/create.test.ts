/**
 * Creating the database: readers never migrate (src/store/search-open.ts), so a file a writer is still creating, or
 * died creating, must never be where they look. Real processes killed with SIGKILL at spread-out moments of the
 * creation: after each, the database is either absent or has its whole schema.
 */
import test from 'ava'
import { spawn } from 'node:child_process'
import { existsSync, readdirSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { schemaLevel, schemaVersion } from '../../src/store/schema.js'
import { openForSearch } from '../../src/store/search.js'
import { tempDir } from '../helpers/tmp.js'

const child = fileURLToPath(new URL('./create-child.js', import.meta.url))

/** Starts a child, lets it create `path`, and kills it `afterMs` later; resolves once it is gone. */
async function createAndKill (path: string, afterMs: number): Promise<void> {
  const proc = spawn(process.execPath, [child, path], { stdio: ['pipe', 'pipe', 'inherit'] })
  await new Promise<void>((resolve) => proc.stdout.once('data', () => resolve()))
  const gone = new Promise<void>((resolve) => proc.once('exit', () => resolve()))
  proc.stdin.write('x')
  setTimeout(() => proc.kill('SIGKILL'), afterMs)
  await gone
}

test('a writer killed at any moment while it creates the database leaves no database, or one with its whole schema', async (t) => {
  const dir = tempDir(t)
  let complete = 0
  for (let i = 0; i < 40; i++) {
    const path = join(dir, `h${i}.db`)
    // Spread over the creation (tens of ms here; more under load): i ms, up to 40.
    await createAndKill(path, i)
    if (!existsSync(path)) continue
    const db = new Database(path, { readonly: true })
    try {
      t.is(schemaLevel(db), schemaVersion, `killed after ${i} ms: the file at ${path} has only part of its schema`)
    } finally {
      db.close()
    }
    const reader = openForSearch(path)
    t.not(reader, undefined, 'a reader opens it as a database')
    reader?.close()
    complete++
  }
  t.log(`${complete} of 40 kills came after the database was in place`)
  // Left behind by a killed creator: at most its temporary file, never under the database's name.
  const names = readdirSync(dir)
  t.deepEqual(names.filter((f) => !/^h\d+\.db(\.new-\d+-[0-9a-f]{8}(-wal|-shm|-journal)?|-wal|-shm)?$/.test(f)), [], names.join(' '))
})
