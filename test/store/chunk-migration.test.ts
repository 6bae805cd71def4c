/**
 * Schema level 11 (chunk signatures) on a database of the level before it (signed entries, per-entry signatures
 * only), while a process of that level keeps writing and reading the file. The level-10 file is made by this
 * rustory and taken back to level 10 (the chunks table, entries.chunk and entries.chunk_pos dropped, schema_level
 * 10): exactly the schema level 10 had, since level 11 only adds the first two (level 12 an index on chunks, level 14
 * chunk_pos).
 */
import test from 'ava'
import { spawn } from 'node:child_process'
import Database from 'better-sqlite3'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { admitReceived } from '../../src/core/admit.js'
import { validateEntry, type Entry } from '../../src/core/entry.js'
import { signEntry, type EntrySigner } from '../../src/core/signature.js'
import { parseChunks, parseSyncBatch, takeChunkRefs } from '../../src/protocol/messages.js'
import { openDatabase } from '../../src/store/db.js'
import { insertEntries } from '../../src/store/entries.js'
import { schemaLevel, schemaVersion } from '../../src/store/schema.js'
import { exportBatch } from '../../workers/export-batch.js'
import { tempDir } from '../helpers/tmp.js'
import { entry } from './fixtures.js'

const child = fileURLToPath(new URL('./release-child.js', import.meta.url))

async function signer (): Promise<EntrySigner> {
  const key = await generateKeyPair('Ed25519')
  return { origin: peerIdFromPrivateKey(key).toString(), secretKey: key.raw }
}

function spawnChild (...args: string[]): { started: Promise<void>, done: Promise<{ code: number | null, stdout: string, stderr: string }> } {
  const proc = spawn(process.execPath, [child, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  let onLine: () => void = () => {}
  const started = new Promise<void>((resolve) => { onLine = resolve })
  proc.stdout.on('data', (d: Buffer) => { stdout += d.toString(); if (stdout.includes('\n')) onLine() })
  proc.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  return { started, done: new Promise((resolve) => proc.on('close', (code) => resolve({ code, stdout, stderr }))) }
}

test('a level-10 database migrates to chunk signatures while a level-10 process writes and reads it; old signed rows keep their per-entry signature, new ones get chunks', async (t) => {
  t.true(schemaVersion >= 11)
  const dir = tempDir(t)
  const path = join(dir, 'history.db')
  const a = await signer()
  const me = await signer()
  const v10 = { device_id: 'v10-peer', user_id: 'u', cwd: '/', exit_code: 0, duration_ms: 1, shell: 'zsh', hostname: 'v10', version: '0.1.0' }
  const signedBefore = [1, 2, 3].map((i) => signEntry(entry({ ...v10, cmd: `signed before ${i}` }), a))
  const signedDuring = [1, 2, 3, 4].map((i) => signEntry(entry({ ...v10, cmd: `signed during ${i}` }), a))
  const db = openDatabase(path)
  insertEntries(db, signedBefore, 'received')
  insertEntries(db, [entry({ cmd: 'recorded here at level 10' })])
  db.exec('DROP INDEX IF EXISTS entries_unplaced; ALTER TABLE entries DROP COLUMN chunk_pos; DROP TABLE chunks; ALTER TABLE entries DROP COLUMN chunk; UPDATE schema_level SET version = 10')
  t.is(schemaLevel(db), 10)
  db.close()

  writeFileSync(join(dir, 'during.json'), JSON.stringify({ signed: signedDuring }))
  const old = spawnChild('write-v10', path, `20:${join(dir, 'during.json')}`)
  await old.started
  // The new rr opens the file (migrating it) in this process while the old one is mid-way, and stores entries.
  const now = openDatabase(path)
  t.teardown(() => now.close())
  t.is(schemaLevel(now), schemaVersion)
  t.is(now.pragma('user_version', { simple: true }), 5)
  insertEntries(now, [entry({ cmd: 'recorded here at level 11' })])
  const wrote = await old.done
  t.is(wrote.stderr, '')
  t.is(wrote.code, 0)
  const result = JSON.parse(wrote.stdout.trim().split('\n').pop()!) as { inserted: number, sawMigration: boolean, ids: string[] }
  t.true(result.sawMigration, 'the old process saw the migration happen under it and kept writing')
  const count = (sql: string): number => now.prepare(sql).pluck().get() as number
  t.is(count(`SELECT COUNT(*) FROM entries WHERE entry_id IN (${result.ids.map((id) => `'${id}'`).join(',')})`), result.ids.length)

  // Served on 3.0.0: rows signed at level 10 with their own origin and sig; this device's own, signed now, under a chunk.
  const page = JSON.parse(Buffer.from(exportBatch({ tag: 'export-batch', dbPath: path, cursor: 0, limit: 1000, maxBytes: 1 << 24, wire: 3, signer: me }).payload).toString()) as unknown
  const batch = parseSyncBatch(page)
  const chunks = parseChunks(batch.chunks, 'SyncBatch')
  const refs = takeChunkRefs(batch.entries, chunks)
  const entries: Entry[] = batch.entries.map((e) => validateEntry(e))
  const admitted = admitReceived(entries, { wire: 3, now: Date.now(), chunks, chunkRef: (i) => refs[i] })
  t.deepEqual(admitted.rejected, [])
  const byCmd = new Map(admitted.entries.map((e) => [e.cmd, e]))
  for (const s of [...signedBefore, ...signedDuring]) {
    t.is(byCmd.get(s.cmd)?.origin, a.origin, s.cmd)
    t.truthy(byCmd.get(s.cmd)?.sig, `${s.cmd}: per-entry signature`)
  }
  for (const cmd of ['recorded here at level 10', 'recorded here at level 11']) {
    t.is(byCmd.get(cmd)?.origin, me.origin, cmd)
    t.is(byCmd.get(cmd)?.chunk_ref, 0, `${cmd}: under this device's chunk`)
  }
  t.deepEqual(chunks.map((c) => c.origin), [me.origin])
  t.is(count('SELECT COUNT(*) FROM entries WHERE trust = 2'), 0)
})

test('a level-14 file (with the partial index entries_unplaced) migrates to 15 while another connection uses it; its level-14 probe keeps working without the index', (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'history.db')
  const db = openDatabase(path)
  insertEntries(db, [entry({ cmd: 'one' }), entry({ cmd: 'two' })])
  db.exec("CREATE INDEX entries_unplaced ON entries (ingest_seq) WHERE chunk IS NOT NULL AND chunk_pos IS NULL; UPDATE entries SET chunk = 7 WHERE cmd = 'two'; UPDATE schema_level SET version = 14")
  db.close()
  // A level-14 process's connection, with its background probe prepared, open across the migration.
  const old = new Database(path)
  t.teardown(() => old.close())
  const probe = old.prepare('SELECT 1 FROM entries WHERE chunk IS NOT NULL AND chunk_pos IS NULL LIMIT 1').pluck()
  t.is(probe.get(), 1)
  old.prepare('BEGIN').run()
  t.is(probe.get(), 1, 'a read under way in the old connection')
  old.prepare('COMMIT').run()
  const now = openDatabase(path)
  t.teardown(() => now.close())
  t.is(schemaLevel(now), schemaVersion)
  t.is(now.prepare("SELECT COUNT(*) FROM sqlite_schema WHERE name = 'entries_unplaced'").pluck().get(), 0)
  t.is(probe.get(), 1, 'the old probe still answers, by a scan')
  old.prepare("INSERT INTO entries (entry_id, device_id, user_id, ts, cmd, cwd, exit_code, duration_ms, shell, hostname, version) VALUES ('00000000-0000-4000-8000-000000000099', 'd', 'u', '2026-01-01T00:00:00.000Z', 'written by the old connection', '/', 0, 1, 'zsh', 'h', '0.1.0')").run()
  t.is(now.prepare('SELECT COUNT(*) FROM entries').pluck().get(), 3)
})
