/**
 * Creating the database: readers never migrate (src/store/search-open.ts), so a file a writer is still creating, or
 * died creating, must never be where they look. Real processes killed with SIGKILL at spread-out moments of the
 * creation: after each, the database is either absent or has its whole schema.
 */
import test from 'ava'
import { spawn } from 'node:child_process'
import { existsSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { basename, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { openDatabase } from '../../src/store/db.js'
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

test('the next creation removes what killed creators left (their temporary files), and no live creator\'s', async (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'history.db')
  const temps = (): string[] => readdirSync(dir).filter((f) => f.startsWith('history.db.new-'))
  // Kill creators until one leaves its temporary file behind (killed after creating it, before linking it).
  for (let i = 0; temps().length === 0; i++) {
    if (i === 200) return t.fail('no kill left a temporary file in 200 tries')
    await createAndKill(path, i % 40)
    rmSync(path, { force: true })
  }
  // A live process's temporary file: a creator at work (this test's own pid stands in for it).
  const live = join(dir, `history.db.new-${process.pid}-0123abcd`)
  writeFileSync(live, '')
  const left = temps()
  openDatabase(path).close()
  t.deepEqual(temps(), [basename(live)], `left before: ${left.join(' ')}`)
})
