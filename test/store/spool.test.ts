/**
 * The record spool with real files and real processes: what `rr record` writes, how drains move it into SQLite
 * (order, concurrency, crashes, corrupt files), and who drains (readers, record itself, the servers).
 */
import test from 'ava'
import { spawn, type ChildProcess } from 'node:child_process'
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import BetterSqlite3 from 'better-sqlite3'
import { maxCmdBytes, truncationMarker, type Entry } from '../../src/core/entry.js'
import { drainSpoolInto, openDatabase } from '../../src/store/db.js'
import { countEntries } from '../../src/store/entries.js'
import { readCounters } from '../../src/store/peers.js'
import { drainSpool, rejectedCounter, type DrainResult } from '../../src/store/spool.js'
import { countReady, readyName, readyNameOf, spoolDirOf, writeSpoolRecord } from '../../src/store/spool-files.js'
import { isolatedEnv, rr, rrSpawn, stop } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'
import { exportBatch } from '../../workers/export-batch.js'
import { entry } from './fixtures.js'

const child = fileURLToPath(new URL('./spool-drain-child.js', import.meta.url))
const second = 1000
const minute = 60 * second

interface Spooled {
  dbPath: string
  dir: string
}

function spooled (t: Parameters<typeof tempDir>[0]): Spooled {
  const dbPath = join(tempDir(t), 'history.db')
  return { dbPath, dir: spoolDirOf(dbPath)! }
}

/** Entries as rr record writes them, at record times base + i ms, created in the given order. */
function spoolEntries (dir: string, n: number, creationOrder: number[] = [...Array(n).keys()], base = 1_790_000_000_000): Entry[] {
  const entries = Array.from({ length: n }, (_, i) => entry({ cmd: `spooled ${i}` }))
  for (const i of creationOrder) writeSpoolRecord(dir, entries[i]!.entry_id, { entry: entries[i]! }, base + i)
  return entries
}

function rowsInSeqOrder (dbPath: string): Array<{ entry_id: string, cmd: string }> {
  const db = openDatabase(dbPath, { readonly: true })
  try {
    return db.prepare('SELECT entry_id, cmd FROM entries ORDER BY ingest_seq').all() as Array<{ entry_id: string, cmd: string }>
  } finally {
    db.close()
  }
}

function countersOf (dbPath: string): Record<string, number> {
  const db = openDatabase(dbPath, { readonly: true })
  try {
    return readCounters(db)
  } finally {
    db.close()
  }
}

function shuffled (n: number, seed = 7): number[] {
  const order = [...Array(n).keys()]
  let s = seed
  for (let i = n - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2 ** 31
    const j = s % (i + 1)
    ;[order[i], order[j]] = [order[j]!, order[i]!]
  }
  return order
}

interface Drainer {
  child: ChildProcess
  ready: Promise<void>
  /** Resolves when a pause-after-commit drainer has committed its first chunk and waits. */
  paused: Promise<void>
  result: Promise<{ code: number | null, signal: NodeJS.Signals | null, drained?: DrainResult, stderr: string }>
}

function startDrainer (dbPath: string, mode: 'drain' | 'crash-mid' | 'crash-after-commit' | 'pause-after-commit', chunkFiles: number, resumePath = ''): Drainer {
  const proc = spawn(process.execPath, [child, dbPath, mode, String(chunkFiles), resumePath], { stdio: ['pipe', 'pipe', 'pipe'] })
  let out = ''
  let stderr = ''
  proc.stderr!.on('data', (d: Buffer) => { stderr += d.toString() })
  const outputLine = async (line: string): Promise<void> => await new Promise<void>((resolve, reject) => {
    const check = (): void => { if (out.split('\n').includes(line)) resolve() }
    proc.stdout!.on('data', check)
    check()
    proc.once('exit', () => reject(new Error(`drainer exited before "${line}": ${stderr}`)))
  })
  proc.stdout!.on('data', (d: Buffer) => { out += d.toString() })
  const ready = outputLine('ready')
  const paused = outputLine('paused')
  paused.catch(() => {})
  const result = new Promise<Awaited<Drainer['result']>>((resolve) => {
    proc.once('exit', (code, signal) => {
      const line = out.split('\n').filter((l) => l.startsWith('{')).pop()
      resolve({ code, signal, ...(line != null ? { drained: JSON.parse(line) as DrainResult } : {}), stderr })
    })
  })
  return { child: proc, ready, paused, result }
}

test('rr record writes one 0600 file in a 0700 spool beside the database and opens no database', async (t) => {
  const home = tempDir(t)
  const env = isolatedEnv(home)
  const dbPath = join(home, '.rustory', 'history.db')
  const r = await rr(['record', '--cmd', 'make spool', '--cwd', '/src', '--exit-code', '3', '--print-id'], { env })
  t.is(r.code, 0, r.stderr)
  const id = r.stdout.trim()
  const dir = `${dbPath}-spool`
  t.is(statSync(dir).mode & 0o777, 0o700)
  const files = readdirSync(dir)
  t.is(files.length, 1)
  t.regex(files[0]!, readyName)
  t.true(files[0]!.endsWith(`-${id}.json`))
  t.is(statSync(join(dir, files[0]!)).mode & 0o777, 0o600)
  const record = JSON.parse(readFileSync(join(dir, files[0]!), 'utf8')) as { entry: Entry, counters?: string[] }
  t.like(record.entry, { entry_id: id, cmd: 'make spool', cwd: '/src', exit_code: 3 })
  t.is(record.counters, undefined)
  t.false(existsSync(dbPath), 'recording alone does not create the database')
})

test('a drain inserts in record order, across chunks, whatever order the files were created in', (t) => {
  const { dbPath, dir } = spooled(t)
  const entries = spoolEntries(dir, 50, shuffled(50))
  const db = openDatabase(dbPath)
  t.teardown(() => db.close())
  const result = drainSpool(db, dbPath, { chunkFiles: 7 })
  t.deepEqual(result, { inserted: 50, ignored: 0, rejected: 0, pending: 0 })
  t.deepEqual(rowsInSeqOrder(dbPath).map((r) => r.cmd), entries.map((e) => e.cmd))
  t.deepEqual(readdirSync(dir), [], 'every drained file is removed')
  t.deepEqual(drainSpool(db, dbPath), { inserted: 0, ignored: 0, rejected: 0, pending: 0 })
})

test('opening the database never drains the spool, writable or not; drainSpoolInto does, once asked', (t) => {
  const { dbPath, dir } = spooled(t)
  openDatabase(dbPath).close()
  spoolEntries(dir, 3)
  openDatabase(dbPath, { readonly: true }).close()
  const db = openDatabase(dbPath)
  t.teardown(() => db.close())
  t.is(countReady(dir), 3, 'a writable open left the spool alone')
  t.is(countEntries(db), 0)
  t.deepEqual(drainSpoolInto(db, dbPath), { inserted: 3, ignored: 0, rejected: 0, pending: 0 })
  t.is(countEntries(db), 3)
  t.is(countReady(dir), 0)
})

test('a worker task opening the database leaves the spool to the process that owns it', (t) => {
  const { dbPath, dir } = spooled(t)
  openDatabase(dbPath).close()
  spoolEntries(dir, 2)
  const batch = JSON.parse(exportBatch({ tag: 'export-batch', dbPath, cursor: 0, limit: 10, maxBytes: 1 << 20 }).payload.toString()) as { entries: unknown[] }
  t.deepEqual(batch.entries, [], 'the worker saw no spooled command')
  t.is(countReady(dir), 2, 'and moved none')
})

test('two drainers in separate processes, started at once, insert every entry and count every counter exactly once', async (t) => {
  const { dbPath, dir } = spooled(t)
  openDatabase(dbPath).close()
  const n = 3000
  const entries = spoolEntries(dir, n)
  // Counter-only files (skipped commands) and truncated entries among them.
  for (let i = 0; i < 300; i++) writeSpoolRecord(dir, entry().entry_id, { counters: [i % 2 === 0 ? 'skipped.leading_space' : 'skipped.secret_github_token'] }, 1_790_000_000_000 + i * 10)
  for (let i = 0; i < 40; i++) {
    const e = entry({ cmd: `long ${i} ${'x'.repeat(10)}${truncationMarker}` })
    writeSpoolRecord(dir, e.entry_id, { entry: e, counters: ['truncated'] }, 1_790_000_000_000 + i * 70)
  }
  // Each commits its first chunk of 50 and waits (so both take part whatever the scheduler does, and each meets
  // the other's live claims); then both go on at once and race for the rest.
  const resume = join(dir, '..', 'resume')
  const drainers = [startDrainer(dbPath, 'pause-after-commit', 50, resume), startDrainer(dbPath, 'pause-after-commit', 50, resume)]
  t.teardown(() => { for (const d of drainers) d.child.kill('SIGKILL') })
  await Promise.all(drainers.map(async (d) => await d.ready))
  for (const d of drainers) {
    d.child.stdin!.end('go\n')
    await d.paused
  }
  writeFileSync(resume, '')
  const results = await Promise.all(drainers.map(async (d) => await d.result))
  for (const r of results) t.is(r.code, 0, r.stderr)
  const [a, b] = results.map((r) => r.drained!)
  t.true(a!.inserted > 0 && b!.inserted > 0, `both drainers took part: ${JSON.stringify([a, b])}`)
  t.is(a!.inserted + b!.inserted, n + 40)
  t.is(a!.ignored + b!.ignored, 0)
  const rows = rowsInSeqOrder(dbPath)
  t.is(rows.length, n + 40)
  t.is(new Set(rows.map((r) => r.entry_id)).size, n + 40)
  const stored = new Set(rows.map((r) => r.entry_id))
  t.deepEqual(entries.filter((e) => !stored.has(e.entry_id)).map((e) => e.cmd), [], 'none missing')
  t.deepEqual(countersOf(dbPath), { 'skipped.leading_space': 150, 'skipped.secret_github_token': 150, truncated: 40 })
  t.deepEqual(readdirSync(dir), [])
  // Claims happen under the write lock, so even two drainers keep the record order.
  t.deepEqual(rows.filter((r) => r.cmd.startsWith('spooled ')).map((r) => r.cmd), entries.map((e) => e.cmd))
})

test('a drainer killed inside its transaction leaves claims that the next drain recovers, all of them once', async (t) => {
  const { dbPath, dir } = spooled(t)
  openDatabase(dbPath).close()
  const entries = spoolEntries(dir, 20)
  const crashed = startDrainer(dbPath, 'crash-mid', 2000)
  await crashed.ready
  crashed.child.stdin!.end('go\n')
  const result = await crashed.result
  t.is(result.signal, 'SIGKILL', result.stderr)
  const claims = readdirSync(dir).filter((name) => name.startsWith(`.claim-${crashed.child.pid!}-`))
  t.is(claims.length, 20, 'the dead drainer held every file')
  t.is(rowsInSeqOrder(dbPath).length, 0, 'its transaction never committed')

  const db = openDatabase(dbPath)
  t.teardown(() => db.close())
  t.deepEqual(drainSpool(db, dbPath), { inserted: 20, ignored: 0, rejected: 0, pending: 0 })
  t.deepEqual(rowsInSeqOrder(dbPath).map((r) => r.cmd), entries.map((e) => e.cmd))
  t.deepEqual(readdirSync(dir), [])
})

test('a drainer killed after its commit, before removing its files: the next drain stores and counts nothing twice', async (t) => {
  const { dbPath, dir } = spooled(t)
  openDatabase(dbPath).close()
  spoolEntries(dir, 5)
  const base = Date.now()
  const long = entry({ cmd: 'y'.repeat(maxCmdBytes) + truncationMarker })
  writeSpoolRecord(dir, long.entry_id, { entry: long, counters: ['truncated'] }, base)
  // Two skipped commands (counters only) and a file that is not a record: entry_id dedup cannot make these
  // idempotent. The crash comes at the first unlink, so all of them are still claims afterwards.
  writeSpoolRecord(dir, '44444444-4444-4444-8444-444444444444', { counters: ['skipped.leading_space'] }, base + 1)
  writeSpoolRecord(dir, '55555555-5555-4555-8555-555555555555', { counters: ['skipped.secret'] }, base + 2)
  writeFileSync(join(dir, readyNameOf(base + 3, '66666666-6666-4666-8666-666666666666')), '{"counters":')
  const crashed = startDrainer(dbPath, 'crash-after-commit', 2000)
  await crashed.ready
  crashed.child.stdin!.end('go\n')
  t.is((await crashed.result).signal, 'SIGKILL')
  t.is(rowsInSeqOrder(dbPath).length, 6, 'committed')
  const counted = { truncated: 1, 'skipped.leading_space': 1, 'skipped.secret': 1, [rejectedCounter]: 1 }
  t.deepEqual(countersOf(dbPath), counted, 'committed with the rows')
  t.is(readdirSync(dir).filter((name) => name.startsWith('.claim-')).length, 9, 'but its claims are still there')

  const db = openDatabase(dbPath)
  t.teardown(() => db.close())
  t.deepEqual(drainSpool(db, dbPath), { inserted: 0, ignored: 6, rejected: 0, pending: 0 })
  t.is(rowsInSeqOrder(dbPath).length, 6)
  t.deepEqual(countersOf(dbPath), counted)
  t.deepEqual(readdirSync(dir), ['rejected'])
  t.is(readdirSync(join(dir, 'rejected')).length, 1)
  // The notes that kept them from counting twice go with the next drain that finds their files gone.
  writeSpoolRecord(dir, '77777777-7777-4777-8777-777777777777', { counters: ['skipped.leading_space'] }, base + 4)
  t.is(drainSpool(db, dbPath).inserted, 0)
  t.deepEqual(db.prepare('SELECT key FROM spool_done').pluck().all(), [readyNameOf(base + 4, '77777777-7777-4777-8777-777777777777')])
  t.is(countersOf(dbPath)['skipped.leading_space'], 2)
})

test('a claim of a live process is left alone; a recorder\'s .tmp file is taken only once it is 10 minutes old', (t) => {
  const { dbPath, dir } = spooled(t)
  openDatabase(dbPath).close()
  const [live, fresh, stale] = spoolEntries(dir, 3)
  // A live process (the test runner's parent) holds one; two recorders died before their rename.
  const liveName = readdirSync(dir).find((name) => name.endsWith(`${live!.entry_id}.json`))!
  renameSync(join(dir, liveName), join(dir, `.claim-${process.ppid}-${liveName}`))
  for (const e of [fresh!, stale!]) {
    const name = readdirSync(dir).find((n) => n.endsWith(`${e.entry_id}.json`))!
    renameSync(join(dir, name), join(dir, `.tmp-${e.entry_id}`))
  }
  const old = new Date(Date.now() - 11 * minute)
  utimesSync(join(dir, `.tmp-${stale!.entry_id}`), old, old)
  const db = openDatabase(dbPath)
  t.teardown(() => db.close())
  t.deepEqual(drainSpool(db, dbPath), { inserted: 1, ignored: 0, rejected: 0, pending: 0 })
  t.deepEqual(rowsInSeqOrder(dbPath).map((r) => r.entry_id), [stale!.entry_id])
  t.deepEqual(readdirSync(dir).sort(), [`.claim-${process.ppid}-${liveName}`, `.tmp-${fresh!.entry_id}`].sort())
})

test('a claim older than staleClaimMs is taken over even when its pid lives: the pid was reused, or it is this process', async (t) => {
  const { dbPath, dir } = spooled(t)
  openDatabase(dbPath).close()
  const entries = spoolEntries(dir, 2)
  for (const [e, pid] of [[entries[0]!, process.ppid], [entries[1]!, process.pid]] as const) {
    const name = readdirSync(dir).find((n) => n.endsWith(`${e.entry_id}.json`))!
    renameSync(join(dir, name), join(dir, `.claim-${pid}-${name}`))
  }
  const db = openDatabase(dbPath)
  t.teardown(() => db.close())
  t.is(drainSpool(db, dbPath).inserted, 0, 'fresh claims of live processes are left alone')
  await new Promise((resolve) => setTimeout(resolve, 80))
  t.deepEqual(drainSpool(db, dbPath, { staleClaimMs: 40 }), { inserted: 2, ignored: 0, rejected: 0, pending: 0 })
  t.deepEqual(readdirSync(dir), [])
})

test('a file that is not a valid record goes to rejected/ and is counted; the others land', (t) => {
  const { dbPath, dir } = spooled(t)
  openDatabase(dbPath).close()
  const [first] = spoolEntries(dir, 1, [0], 1_790_000_000_000)
  const corrupt = readyNameOf(1_790_000_000_001, '11111111-1111-4111-8111-111111111111')
  writeFileSync(join(dir, corrupt), '{"entry":{"entry_id":')
  const badEntry = readyNameOf(1_790_000_000_002, '22222222-2222-4222-8222-222222222222')
  writeFileSync(join(dir, badEntry), JSON.stringify({ entry: { ...entry(), ts: 'yesterday' } }))
  const badCounter = readyNameOf(1_790_000_000_003, '33333333-3333-4333-8333-333333333333')
  writeFileSync(join(dir, badCounter), JSON.stringify({ counters: ['entries; DROP TABLE entries'] }))
  const [last] = spoolEntries(dir, 1, [0], 1_790_000_000_004)
  const db = openDatabase(dbPath)
  t.teardown(() => db.close())
  t.deepEqual(drainSpool(db, dbPath), { inserted: 2, ignored: 0, rejected: 3, pending: 0 })
  t.deepEqual(rowsInSeqOrder(dbPath).map((r) => r.entry_id), [first!.entry_id, last!.entry_id])
  t.deepEqual(readdirSync(join(dir, 'rejected')).sort(), [corrupt, badEntry, badCounter].sort())
  t.is(readFileSync(join(dir, 'rejected', corrupt), 'utf8'), '{"entry":{"entry_id":', 'kept as it was')
  t.deepEqual(countersOf(dbPath), { [rejectedCounter]: 3 })
  t.deepEqual(readdirSync(dir), ['rejected'])
})

test('skipped commands reach rr doctor through the spool, counted once however many readers drain', async (t) => {
  const home = tempDir(t)
  const env = isolatedEnv(home)
  const dbPath = join(home, '.rustory', 'history.db')
  for (const cmd of [' hidden one', ' hidden two', `export T=${'ghp_'}${'b'.repeat(36)}`, 'echo kept']) {
    t.is((await rr(['record', '--cmd', cmd], { env })).code, 0)
  }
  t.is(countReady(spoolDirOf(dbPath)!), 4)
  for (let i = 0; i < 2; i++) {
    const doctor = await rr(['doctor', '--json'], { env })
    t.is(doctor.code, 0, doctor.stderr)
    const report = JSON.parse(doctor.stdout) as { recorder: { skipped: Record<string, number>, skippedTotal: number }, database: { entries: number }, paths: { spool: string }, spool: { pending: number } }
    t.deepEqual(report.recorder.skipped, { leading_space: 2, secret_github_token: 1 })
    t.is(report.recorder.skippedTotal, 3)
    t.is(report.database.entries, 1)
    t.is(report.paths.spool, `${dbPath}-spool`)
    t.is(report.spool.pending, 0)
  }
  const text = await rr(['doctor'], { env })
  t.regex(text.stdout, /spool\s+\S+history\.db-spool/)
})

/** Holds the write lock of a database in another process until `release` is called. */
async function holdWriteLock (t: Parameters<typeof tempDir>[0], dbPath: string): Promise<() => Promise<void>> {
  const script = `
    const Database = require(${JSON.stringify(createRequire(import.meta.url).resolve('better-sqlite3'))})
    const db = new Database(${JSON.stringify(dbPath)})
    db.exec('BEGIN IMMEDIATE')
    process.stdout.write('locked\\n')
    process.stdin.on('data', () => {})
    process.stdin.on('end', () => { db.exec('COMMIT'); db.close(); process.exit(0) })
  `
  const holder = spawn(process.execPath, ['-e', script], { stdio: ['pipe', 'pipe', 'inherit'] })
  t.teardown(() => { holder.kill('SIGKILL') })
  await new Promise<void>((resolve, reject) => {
    holder.stdout!.on('data', (d: Buffer) => { if (d.toString().includes('locked')) resolve() })
    holder.once('exit', (code) => reject(new Error(`lock holder exited ${code}`)))
  })
  return async () => {
    const exited = new Promise((resolve) => holder.once('exit', resolve))
    holder.stdin!.end()
    await exited
  }
}

test('while another process holds the write lock, search and history answer at once without the spooled command, and lose nothing', async (t) => {
  const home = tempDir(t)
  const env = isolatedEnv(home)
  const dbPath = join(home, '.rustory', 'history.db')
  t.is((await rr(['record', '--cmd', 'echo old'], { env })).code, 0)
  t.is((await rr(['search', '--filter', 'echo'], { env })).stdout, 'echo old\n')
  const release = await holdWriteLock(t, dbPath)
  t.is((await rr(['record', '--cmd', 'echo new'], { env })).code, 0)

  const timed = async (args: string[]): Promise<Awaited<ReturnType<typeof rr>> & { ms: number }> => {
    const begun = Date.now()
    const r = await rr(args, { env })
    return { ...r, ms: Date.now() - begun }
  }
  const search = await timed(['search', '--filter', 'echo'])
  const history = await timed(['history'])
  const doctor = await timed(['doctor', '--json'])
  t.is(search.code, 0, search.stderr)
  t.is(search.stdout, 'echo old\n')
  t.regex(history.stdout, /echo old\n$/)
  t.notRegex(history.stdout, /echo new/)
  const report = JSON.parse(doctor.stdout) as { spool: { pending: number }, warnings: string[] }
  t.is(report.spool.pending, 1)
  t.true(report.warnings.some((w) => /locked/.test(w)), report.warnings.join('\n'))
  // Waiting out the lock would take openDatabase's 10 s busy timeout (or until the holder lets go: never).
  t.log(`search ${search.ms} ms, history ${history.ms} ms, doctor ${doctor.ms} ms`)
  for (const r of [search, history, doctor]) t.true(r.ms < 9 * second, `took ${r.ms} ms`)
  t.is(countReady(spoolDirOf(dbPath)!), 1, 'the command waits in the spool')

  await release()
  t.is((await rr(['search', '--filter', 'echo'], { env })).stdout, 'echo new\necho old\n')
  t.is(countReady(spoolDirOf(dbPath)!), 0)
})

test('rr record drains the spool itself once 256 files wait, and not before', async (t) => {
  const home = tempDir(t)
  const env = isolatedEnv(home)
  const dbPath = join(home, '.rustory', 'history.db')
  const dir = spoolDirOf(dbPath)!
  mkdirSync(join(home, '.rustory'))
  spoolEntries(dir, 254)
  t.is((await rr(['record', '--cmd', 'the 255th'], { env })).code, 0)
  t.is(countReady(dir), 255)
  t.false(existsSync(dbPath))
  t.is((await rr(['record', '--cmd', 'the 256th'], { env })).code, 0)
  t.is(countReady(dir), 0)
  const db = new BetterSqlite3(dbPath, { readonly: true })
  t.teardown(() => db.close())
  t.is(db.prepare('SELECT COUNT(*) FROM entries').pluck().get(), 256)
  t.is(db.prepare('SELECT cmd FROM entries ORDER BY ingest_seq DESC LIMIT 1').pluck().get(), 'the 256th')
})

test('rr http-serve moves commands recorded while it runs into its database within moments', async (t) => {
  const home = tempDir(t)
  const env = isolatedEnv(home, { RUSTORY_HTTP_TOKEN: 'test-http-token-20ch' })
  const dbPath = join(home, 'served.db')
  const { child: server, match } = await rrSpawn(['--db-path', dbPath, 'http-serve', '--bind', '127.0.0.1:0'], { env, ready: /http listen: (http:\/\/127\.0\.0\.1:\d+)\n/ })
  t.teardown(async () => { await stop(server) })
  const r = await rr(['--db-path', dbPath, 'record', '--cmd', 'served at once', '--print-id'], { env })
  const id = r.stdout.trim()
  const recorded = Date.now()
  let seen: number | undefined
  while (Date.now() - recorded < 10 * second) {
    const page = await (await fetch(`${match[1]!}/api/v1/entries?cursor=0&limit=10`, { headers: { authorization: 'Bearer test-http-token-20ch' } })).json() as { entries: Entry[] }
    if (page.entries.some((e) => e.entry_id === id)) { seen = Date.now() - recorded; break }
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  t.truthy(seen, 'the pulled page has the command')
  // How soon is a figure, not a test (the watch alone is tested in spool-watch.test.ts, without the 5 s timer).
  t.log(`visible to pulls ${seen} ms after rr record exited`)
  t.is(countReady(spoolDirOf(dbPath)!), 0)
})

test('rr http-serve serves, from its first pull, the commands recorded before it started', async (t) => {
  const home = tempDir(t)
  const env = isolatedEnv(home, { RUSTORY_HTTP_TOKEN: 'test-http-token-20ch' })
  const dbPath = join(home, 'served.db')
  const id = (await rr(['--db-path', dbPath, 'record', '--cmd', 'recorded before serving', '--print-id'], { env })).stdout.trim()
  const { child: server, match } = await rrSpawn(['--db-path', dbPath, 'http-serve', '--bind', '127.0.0.1:0'], { env, ready: /http listen: (http:\/\/127\.0\.0\.1:\d+)\n/ })
  t.teardown(async () => { await stop(server) })
  const page = await (await fetch(`${match[1]!}/api/v1/entries?cursor=0&limit=10`, { headers: { authorization: 'Bearer test-http-token-20ch' } })).json() as { entries: Entry[] }
  t.deepEqual(page.entries.map((e) => e.entry_id), [id])
})
