/**
 * Commands still in the record spool: ctrl+r's head shows them from their files (no drain before the first screen),
 * at their place in the order, and rest() moves them into the database before it reads on. Real spool files, real
 * SQLite; the stand-in fzf for the selection test logs nothing and picks the first row.
 */
import test from 'ava'
import Database from 'better-sqlite3'
import { spawn } from 'node:child_process'
import { chmodSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { unknownExitCode, type Entry } from '../../src/core/entry.js'
import { openFeed } from '../../src/search/feed.js'
import { openDatabase } from '../../src/store/db.js'
import type { FeedFilters } from '../../src/store/search.js'
import { pendingDir, spoolDirOf, writePendingRecord, writeSpoolRecord } from '../../src/store/spool-files.js'
import { isolatedEnv, repoRoot, rr } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'
import { dbWith, entry, randomEntries, records, referenceFeed } from './fixtures.js'

function spool (dbPath: string, entries: readonly Entry[]): void {
  for (const e of entries) writeSpoolRecord(spoolDirOf(dbPath)!, e.entry_id, { entry: e })
}

const readyFiles = (dbPath: string): string[] => readdirSync(spoolDirOf(dbPath)!).filter((n) => n.endsWith('.json'))

async function wholeFeed (dbPath: string, limit: number, filters: FeedFilters, headRows: number): Promise<{ head: string[], all: string[] }> {
  const feed = openFeed({ dbPath, limit, filters, headRows })
  const head = records(feed.head)
  const all = [...head]
  await feed.rest((c) => all.push(...records(c)))
  return { head, all }
}

test('the feed with commands waiting in the spool equals the feed after a drain, for any head size and limit', async (t) => {
  const cases = [
    { seed: 21, headRows: 64, limit: 100000 },
    { seed: 22, headRows: 5, limit: 100000 },
    { seed: 23, headRows: 1, limit: 40 },
    { seed: 24, headRows: 300, limit: 7 },
    { seed: 25, headRows: 20, limit: 3 }
  ]
  for (const c of cases) {
    // Repeats, ties and several devices; every seventh entry still in the spool: some newer than every stored one,
    // some older than the head's last row, some repeating a stored command.
    const entries = randomEntries(c.seed, 900, { commands: 200, times: 400, devices: 3 })
    const waiting = entries.filter((_, i) => i % 7 === 3)
    const { dbPath } = dbWith(t, entries.filter((_, i) => i % 7 !== 3))
    spool(dbPath, waiting)
    const { all } = await wholeFeed(dbPath, c.limit, {}, c.headRows)
    t.deepEqual(all, referenceFeed(entries, c.limit), `seed ${c.seed}`)
    t.deepEqual(readyFiles(dbPath), [], 'rest() drained the spool')
  }
})

test('a command recorded a moment ago is on top of the head before any drain; filters apply to it as to stored ones', async (t) => {
  const old = entry({ cmd: 'make', ts: '2026-01-01T00:00:00.000Z', cwd: '/a' })
  const { dbPath } = dbWith(t, [old, entry({ cmd: 'ls', ts: '2026-01-02T00:00:00.000Z', cwd: '/b' })])
  spool(dbPath, [entry({ cmd: 'make', ts: '2026-01-03T00:00:00.000Z', cwd: '/a' }), entry({ cmd: 'vim x', ts: '2026-01-04T00:00:00.000Z', cwd: '/b', session_id: 's1' })])
  const feed = openFeed({ dbPath, limit: 100, filters: {} })
  t.deepEqual(records(feed.head), ['vim x', 'make', 'ls'])
  t.is(readyFiles(dbPath).length, 2, 'nothing drained before the first screen')
  t.deepEqual((await wholeFeed(dbPath, 100, { cwd: '/a' }, 64)).head, ['make'])
  spool(dbPath, [entry({ cmd: 'top', ts: '2026-01-05T00:00:00.000Z', cwd: '/b', session_id: 's2' })])
  t.deepEqual(records(openFeed({ dbPath, limit: 100, filters: { sessionId: 's1' } }).head), ['vim x'])
  t.deepEqual(records(openFeed({ dbPath, limit: 100, filters: { since: '2026-01-04T12:00:00.000Z' } }).head), ['top'])
})

test('the pending start of a shell that is gone is shown with an unknown exit status; a deleted entry_id is not', async (t) => {
  const { dbPath } = dbWith(t, [entry({ cmd: 'ls', ts: '2026-01-01T00:00:00.000Z' })])
  const deleted = entry({ cmd: 'secret', ts: '2026-01-04T00:00:00.000Z' })
  const db = openDatabase(dbPath) // (before the spool files: a writable open drains them)
  db.prepare('INSERT INTO tombstones (entry_id, deleted_at, device_id) VALUES (?, ?, ?)').run(deleted.entry_id, '2026-01-05T00:00:00.000Z', 'dev-a')
  db.close()
  spool(dbPath, [deleted])
  const gone = entry({ cmd: 'sleep 600', ts: '2026-01-02T00:00:00.000Z', exit_code: unknownExitCode })
  mkdirSync(join(spoolDirOf(dbPath)!, pendingDir), { recursive: true })
  writePendingRecord(spoolDirOf(dbPath)!, 999_999_999, gone) // no such pid
  writePendingRecord(spoolDirOf(dbPath)!, process.pid, entry({ cmd: 'still running', ts: '2026-01-03T00:00:00.000Z' }))
  const view = { nowMs: Date.parse('2026-01-06T00:00:00.000Z'), cwd: '/x', hostname: 'host-a', home: '/home/u' }
  const feed = openFeed({ dbPath, limit: 100, filters: {}, view })
  const rows = records(feed.head)
  t.deepEqual(rows.map((r) => r.split('\t').at(-1)), ['sleep 600', 'ls'])
  t.regex(rows[0]!, /\d+d \?/, 'exit status unknown')
})

test('when the drain cannot take the write lock, the rest does not list again what the head showed from the spool', async (t) => {
  const stored = Array.from({ length: 30 }, (_, i) => entry({ cmd: `c${i}`, ts: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString() }))
  const { dbPath } = dbWith(t, stored)
  spool(dbPath, [entry({ cmd: 'c3', ts: '2026-02-01T00:00:00.000Z' })]) // an old command used again
  const locker = await holdWriteLock(t, dbPath)
  const { all } = await wholeFeed(dbPath, 1000, {}, 4)
  t.deepEqual(all, ['c3', ...Array.from({ length: 30 }, (_, k) => `c${29 - k}`).filter((c) => c !== 'c3')])
  t.is(readyFiles(dbPath).length, 1, 'still waiting (locked)')
  locker.kill()
})

/** A process holding the database's write lock (BEGIN IMMEDIATE) until it is killed. */
async function holdWriteLock (t: Parameters<typeof dbWith>[0], dbPath: string): Promise<ReturnType<typeof spawn>> {
  const script = `const D = require('better-sqlite3'); const db = new D(${JSON.stringify(dbPath)}); db.exec('BEGIN IMMEDIATE'); console.log('locked'); setInterval(() => {}, 1000)`
  const child = spawn(process.execPath, ['-e', script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'inherit'] })
  t.teardown(() => child.kill())
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()))
  return child
}

test('Enter on a command shown from the spool prints it exactly, control characters and all, drained or not', async (t) => {
  const { dbPath, dir } = dbWith(t, [entry({ cmd: 'ls', ts: '2026-01-01T00:00:00.000Z' })])
  const odd = 'printf "\x1b[31mred\x1b[0m"'
  spool(dbPath, [entry({ cmd: odd, ts: '2026-01-02T00:00:00.000Z' })])
  // fzf stand-in: Enter on the first row (the record after the header).
  const bin = join(dir, 'bin')
  mkdirSync(bin)
  writeFileSync(join(bin, 'fzf'), '#!/bin/sh\n[ "$1" = --version ] && { echo 0.38.0; exit 0; }\nexec node -e \'let b = Buffer.alloc(0); process.stdin.on("data", (d) => { b = Buffer.concat([b, d]); const r = b.toString().split("\\0"); if (r.length > 2) { process.stdout.write(r[1] + "\\0"); process.exit(0) } })\'\n')
  chmodSync(join(bin, 'fzf'), 0o755)
  const locker = await holdWriteLock(t, dbPath) // the drain cannot store it: the database does not have it
  const r = await rr(['--db-path', dbPath, 'search'], { env: isolatedEnv(dir, { PATH: `${bin}:${process.env.PATH ?? ''}` }) })
  locker.kill()
  t.is(r.code, 0, r.stderr)
  t.is(r.stdout, odd)
  t.is(readyFiles(dbPath).length, 1, 'it was not drained: the lock was held')
})

test('a database file a writer has created but not yet migrated (or died migrating) reads as empty: ctrl+r shows the spool, then rest() migrates and drains it', async (t) => {
  // The ctrl+r feed opens the database read-only, without migrating. A drain in another process (or a killed one)
  // can leave the file created with no schema committed: reading it as a database with tables failed every ctrl+r
  // ("no such table: entries") until some writer came by. Both shapes of that file: empty, and WAL set.
  for (const shape of ['empty', 'wal'] as const) {
    const dir = join(tempDir(t), shape)
    mkdirSync(dir, { recursive: true })
    const dbPath = join(dir, 'history.db')
    writeFileSync(dbPath, '', { mode: 0o600 })
    if (shape === 'wal') new Database(dbPath).pragma('journal_mode = WAL')
    spool(dbPath, [entry({ cmd: 'echo waiting', ts: '2026-01-01T00:00:00.000Z' })])
    const { head, all } = await wholeFeed(dbPath, 100, {}, 64)
    t.deepEqual(head, ['echo waiting'], shape)
    t.deepEqual(all, ['echo waiting'])
    t.deepEqual(readyFiles(dbPath), [], 'rest() migrated the file and drained the spool into it')
    const db = openDatabase(dbPath, { readonly: true })
    t.deepEqual(db.prepare('SELECT cmd FROM entries').pluck().all(), ['echo waiting'])
    db.close()
  }
})

test('rr search --filter and rr history on a database file with no schema yet: an empty history, exit 0', async (t) => {
  const dir = tempDir(t)
  const dbPath = join(dir, 'history.db')
  writeFileSync(dbPath, '', { mode: 0o600 })
  new Database(dbPath).pragma('journal_mode = WAL')
  for (const args of [['search', '--filter', ''], ['history'], ['history', '--format', 'jsonl']]) {
    const r = await rr(['--db-path', dbPath, ...args], { env: isolatedEnv(dir) })
    t.is(r.code, 0, `${args.join(' ')}: ${r.stderr}`)
    t.is(r.stdout, '', args.join(' '))
  }
})
