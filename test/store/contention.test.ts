/**
 * The locked-database case with real processes: 16 shells record at the same instant while another process
 * bulk-ingests in big transactions. Every record must land; none may log "database is locked".
 */
import test from 'ava'
import { spawn } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { openDatabase } from '../../src/store/db.js'
import { isolatedEnv, rr } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'

const child = fileURLToPath(new URL('./bulk-ingest-child.js', import.meta.url))
const recorders = 16
const bulkRows = 200_000
const bulkBatch = 25_000

test('16 concurrent rr record processes all land while a bulk ingest holds the write lock in big transactions', async (t) => {
  const home = tempDir(t)
  const dbPath = join(home, '.rustory', 'history.db')
  const env = isolatedEnv(home)
  // The database exists (and is in WAL mode) before the race starts, as on any machine after the first prompt.
  t.is((await rr(['record', '--cmd', 'first'], { env })).code, 0)

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
  bulk.stdin.end()
  t.is(await bulkDone, 0)
  const summary = JSON.parse(out.trim().split('\n').pop()!) as { written: number, transactions: number, firstTxStart: number, lastTxEnd: number }

  for (const r of results) {
    t.is(r.code, 0)
    t.regex(r.stdout, /^[0-9a-f-]{36}\n$/, `rr record printed no id: ${r.stdout} ${r.stderr}`)
  }
  const log = join(home, '.rustory', 'record.log')
  t.false(existsSync(log), existsSync(log) ? readFileSync(log, 'utf8') : '')

  const db = openDatabase(dbPath, { readonly: true })
  t.teardown(() => db.close())
  const rows = db.prepare("SELECT cmd, exit_code FROM entries WHERE cmd LIKE 'contended %' ORDER BY exit_code").all() as Array<{ cmd: string, exit_code: number }>
  t.deepEqual(rows, Array.from({ length: recorders }, (_, i) => ({ cmd: `contended ${i}`, exit_code: i })))
  t.true(summary.written >= bulkRows)
  t.is((db.prepare('SELECT COUNT(*) FROM entries').pluck().get() as number), summary.written + recorders + 1)
  // The race was real: the bulk ingest kept committing big transactions from before the first recorder started
  // until after the last one finished.
  t.true(summary.firstTxStart < started && recordersDone <= summary.lastTxEnd, JSON.stringify({ started, recordersDone, ...summary }))
  t.true(summary.transactions >= bulkRows / bulkBatch)
})
