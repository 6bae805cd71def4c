/**
 * The locked-database case with real processes: 16 shells record at the same instant while another process
 * bulk-ingests in big transactions, and readers (`rr history`) try to drain the spool meanwhile. No record may fail
 * or wait for the lock (they write to the spool, not SQLite); after a drain every one has landed exactly once.
 */
import test from 'ava'
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { openDatabase } from '../../src/store/db.js'
import { countReady, spoolDirOf } from '../../src/store/spool-files.js'
import { isolatedEnv, rr } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'

const child = fileURLToPath(new URL('./bulk-ingest-child.js', import.meta.url))
const recorders = 16
const bulkRows = 200_000
const bulkBatch = 25_000

test('16 concurrent rr record processes all land, once each, while a bulk ingest holds the write lock in big transactions', async (t) => {
  const home = tempDir(t)
  const dbPath = join(home, '.rustory', 'history.db')
  const env = isolatedEnv(home)
  // The database exists (and is in WAL mode) before the race starts, as on any machine after the first prompt.
  t.is((await rr(['record', '--cmd', 'first'], { env })).code, 0)
  t.is((await rr(['history'], { env })).stdout.trim().split('  ').pop(), 'first')

  const bulk = spawn(process.execPath, [child, dbPath, String(bulkRows), String(bulkBatch)], { env, stdio: ['pipe', 'pipe', 'inherit'] })
  t.teardown(() => { bulk.kill('SIGKILL') })
  let out = ''
  bulk.stdout.on('data', (d: Buffer) => { out += d.toString() })
  const bulkDone = new Promise<number | null>((resolve) => bulk.on('exit', resolve))
  await new Promise<void>((resolve, reject) => {
    const timer = setInterval(() => {
      if (out.includes('started')) { clearInterval(timer); resolve() }
      if (bulk.exitCode != null) { clearInterval(timer); reject(new Error(`bulk ingest exited early: ${out}`)) }
    }, 5)
  })

  const started = Date.now()
  const results = await Promise.all(Array.from({ length: recorders }, async (_, i) =>
    await rr(['record', '--cmd', `contended ${i}`, '--cwd', '/tmp', '--exit-code', String(i), '--shell', 'bash', '--print-id'], { env })))
  const recordersDone = Date.now()
  // Readers drain the spool while the bulk ingest holds the lock: each either drains between its transactions or
  // skips draining; neither loses nor duplicates anything, and neither waits behind the import.
  const readers = await Promise.all([0, 1, 2].map(async () => await rr(['history', '--limit', '1'], { env })))
  const readersDone = Date.now()
  bulk.stdin.end()
  t.is(await bulkDone, 0)
  const summary = JSON.parse(out.trim().split('\n').pop()!) as { written: number, transactions: number, firstTxStart: number, lastTxEnd: number }

  for (const r of results) {
    t.is(r.code, 0)
    t.regex(r.stdout, /^[0-9a-f-]{36}\n$/, `rr record printed no id: ${r.stdout} ${r.stderr}`)
  }
  const log = join(home, '.rustory', 'record.log')
  t.false(existsSync(log), existsSync(log) ? readFileSync(log, 'utf8') : '')

  for (const r of readers) t.is(r.code, 0, r.stderr)
  // The final drain, as the next rr command would do it.
  const after = await rr(['history', '--limit', '1'], { env })
  t.is(after.code, 0, after.stderr)
  t.is(countReady(spoolDirOf(dbPath)!), 0, 'the spool is empty after a drain')
  const db = openDatabase(dbPath, { readonly: true })
  t.teardown(() => db.close())
  const rows = db.prepare("SELECT cmd, exit_code FROM entries WHERE cmd LIKE 'contended %' ORDER BY exit_code").all() as Array<{ cmd: string, exit_code: number }>
  t.deepEqual(rows, Array.from({ length: recorders }, (_, i) => ({ cmd: `contended ${i}`, exit_code: i })))
  t.true(summary.written >= bulkRows)
  t.is((db.prepare('SELECT COUNT(*) FROM entries').pluck().get() as number), summary.written + recorders + 1)
  // The race was real: the bulk ingest kept committing big transactions from before the first recorder started
  // until after the last one finished.
  t.true(summary.firstTxStart < started && readersDone <= summary.lastTxEnd, JSON.stringify({ started, recordersDone, readersDone, ...summary }))
  t.is(new Set(results.map((r) => r.stdout)).size, recorders, 'sixteen distinct entry ids')
  const ids = db.prepare("SELECT entry_id FROM entries WHERE cmd LIKE 'contended %'").pluck().all() as string[]
  t.deepEqual(ids.sort(), results.map((r) => r.stdout.trim()).sort())
  t.true(summary.transactions >= bulkRows / bulkBatch)
})
