/**
 * Search and import at a million entries. `benchSearch()` returns the figures; run standalone with
 * `node dist/test/bench/search.js` (env BENCH_ENTRIES / BENCH_IMPORT_LINES scale it down for a quick look).
 *
 *  - feed first line / whole feed: openFeed + rest in this process (a fresh worker pool each time, as `rr search`),
 *    on the database as built (schema v4: command_latest) and on a copy stripped back to schema v2 (opened
 *    read-only, as `rr search` does: the entries scan with dedup in JS, the fallback and the old algorithm).
 *  - command_latest: rows, bytes (dbstat: the table and its indexes) against the whole database, and the v3
 *    migration's backfill time on the v2 copy (openDatabase, timed).
 *  - ctrl+r end to end: a real `rr search` process spawned with a stand-in fzf on PATH (a shell script that stamps
 *    the arrival of the first byte and of EOF on its stdin): process start → first record / whole feed at fzf.
 *  - `rr search --filter` wall time.
 *  - import: `rr import zsh` of a generated 1M-line extended history (with multi-line and metafied commands) into
 *    a fresh database, vs the same rows written by the bare loop of test/bench/bare.ts (one prepared INSERT per
 *    row plus the per-row command_latest upsert, one transaction per 5000 rows, rows preloaded) into another.
 *  - command_latest's insert cost: the same bare loop with and without the command_latest upsert, alternated.
 * Figures that are repeated print the best and the median (the machine may be busy with other work).
 */
import { execFile, spawn } from 'node:child_process'
import { copyFileSync, createWriteStream, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { Entry } from '../../src/core/entry.js'
import { openFeed } from '../../src/search/feed.js'
import { openDatabase } from '../../src/store/db.js'
import { insertEntries } from '../../src/store/entries.js'
import { entryFields } from '../../src/core/entry.js'
import { prng } from '../helpers/prng.js'
import { bareLoop } from './bare.js'

const rrBin = fileURLToPath(new URL('../../../bin/rr', import.meta.url))

const common = ['git status', 'ls -la', 'cd ..', 'make test', 'npm run build', 'git diff', 'git push', 'docker ps',
  'kubectl get pods', 'htop', 'git log --oneline', 'cargo build', 'vim .', 'pwd', 'clear']

/** A plausible mix: half from a small common set, a fifth from a medium set, the rest one-off commands. */
function syntheticCmd (random: () => number, i: number): string {
  const r = random()
  if (r < 0.5) return common[Math.floor(random() * common.length)]!
  if (r < 0.7) return `cd ~/src/project${Math.floor(random() * 2000)}`
  if (r < 0.72) return `for f in *.log; do\n  gzip "$f" # ${i}\ndone`
  return `vim src/module${i % 9973}/file${i}.ts && echo ${Math.floor(random() * 1e9)}`
}

function uuidFrom (random: () => number): string {
  const hex = Array.from({ length: 32 }, () => Math.floor(random() * 16).toString(16)).join('')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-${'89ab'[Math.floor(random() * 4)]}${hex.slice(17, 20)}-${hex.slice(20, 32)}`
}

export function buildDb (path: string, n: number): number {
  const random = prng(42)
  const db = openDatabase(path)
  const base = Date.UTC(2024, 0, 1)
  const started = performance.now()
  let batch: Entry[] = []
  for (let i = 0; i < n; i++) {
    batch.push({
      entry_id: uuidFrom(random),
      device_id: `device-${i % 8}`,
      user_id: 'bench',
      ts: new Date(base + i * 30_000 + Math.floor(random() * 1000)).toISOString(),
      cmd: syntheticCmd(random, i),
      cwd: `/home/bench/p${i % 300}`,
      exit_code: random() < 0.05 ? 1 : 0,
      duration_ms: Math.floor(random() * 5000),
      shell: 'zsh',
      hostname: `host-${i % 8}`,
      version: '0.1.0'
    })
    if (batch.length === 10_000) { insertEntries(db, batch); batch = [] }
  }
  insertEntries(db, batch)
  db.close()
  return performance.now() - started
}

/** zsh metafication of a UTF-8 string (bytes 0x83–0xA2 and NUL become 0x83, byte ^ 0x20). */
function metafy (text: string): Buffer {
  const bytes = Buffer.from(text, 'utf8')
  const out: number[] = []
  for (const b of bytes) {
    if (b === 0 || (b >= 0x83 && b <= 0xa2)) out.push(0x83, b ^ 0x20)
    else out.push(b)
  }
  return Buffer.from(out)
}

export async function writeZshHistory (path: string, lines: number): Promise<number> {
  const random = prng(7)
  const out = createWriteStream(path)
  let written = 0
  let entries = 0
  const base = 1_600_000_000
  let parts: Buffer[] = []
  while (written < lines) {
    const kind = random()
    let text: Buffer
    if (kind < 0.01) {
      text = Buffer.from(`: ${base + entries}:3;for i in 1 2 3; do\\\n  echo "$i"\\\ndone\n`)
      written += 3
    } else if (kind < 0.02) {
      text = Buffer.concat([Buffer.from(`: ${base + entries}:0;`), metafy(`echo → ✓ ${entries}`), Buffer.from('\n')])
      written++
    } else {
      text = Buffer.from(`: ${base + entries}:${Math.floor(random() * 10)};${syntheticCmd(random, entries)}\n`.replace(/\n(?!$)/g, '\\\n'))
      written += text.toString('latin1').split('\n').length - 1
    }
    parts.push(text)
    entries++
    if (parts.length === 10_000) {
      if (!out.write(Buffer.concat(parts))) await new Promise<void>((resolve) => out.once('drain', () => resolve()))
      parts = []
    }
  }
  out.end(Buffer.concat(parts))
  await new Promise<void>((resolve) => out.once('close', () => resolve()))
  return written
}

function childEnv (extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, ...extra }
  delete env.NODE_EXTRA_CA_CERTS
  for (const key of Object.keys(env)) if (key.startsWith('RUSTORY_') && !(key in extra)) delete env[key]
  return env
}

async function run (cmd: string, args: string[], env: NodeJS.ProcessEnv): Promise<{ ms: number, stdout: string, stderr: string }> {
  const started = performance.now()
  return await new Promise((resolve, reject) => {
    execFile(cmd, args, { env, maxBuffer: 256 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err != null) reject(new Error(`${cmd} ${args.join(' ')}: ${err.message}\n${stderr}`))
      else resolve({ ms: performance.now() - started, stdout, stderr })
    })
  })
}

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}

/** "best / median (n runs)" of timings in ms, lower is better. */
function bestMedian (values: number[], digits = 0): string {
  return `${Math.min(...values).toFixed(digits)} / ${median(values).toFixed(digits)}`
}

/** "best / median" of rates, higher is better. */
function bestMedianRate (values: number[]): string {
  return `${Math.round(Math.max(...values))} / ${Math.round(median(values))}`
}

const runs = Number(process.env.BENCH_RUNS ?? 3)

/** Copies a database (checkpointed: no WAL beside it) and removes command_latest: schema v2, data kept. */
function copyAsV2 (sourcePath: string, targetPath: string): void {
  copyFileSync(sourcePath, targetPath)
  const db = openDatabase(targetPath)
  db.exec('DROP TRIGGER IF EXISTS entries_command_latest; DROP TABLE command_latest; PRAGMA user_version = 2;')
  db.close()
}

/** Bytes of the database and of command_latest (table and indexes), from dbstat. */
function sizes (path: string): { total: number, commandLatest: number, rows: number } {
  const db = openDatabase(path, { readonly: true })
  try {
    const total = (db.pragma('page_count', { simple: true }) as number) * (db.pragma('page_size', { simple: true }) as number)
    const commandLatest = db.prepare(`SELECT COALESCE(SUM(pgsize), 0) FROM dbstat WHERE name IN
      (SELECT name FROM sqlite_master WHERE tbl_name = 'command_latest' AND type IN ('table', 'index'))`).pluck().get() as number
    const rows = db.prepare('SELECT COUNT(*) FROM command_latest').pluck().get() as number
    return { total, commandLatest, rows }
  } finally {
    db.close()
  }
}

async function feedInProcess (dbPath: string, limit: number): Promise<{ firstMs: number, wholeMs: number, rows: number, workerFirstMs: number }> {
  const started = performance.now()
  const feed = openFeed({ dbPath, limit, filters: {} })
  const firstMs = performance.now() - started
  let workerFirstMs = 0
  const rest = await feed.rest(() => {
    if (workerFirstMs === 0) workerFirstMs = performance.now() - started
  })
  return { firstMs, wholeMs: performance.now() - started, rows: feed.headRows + rest.rows, workerFirstMs }
}

/** A stand-in fzf: answers --version, stamps the first byte and EOF on stdin (ns clock), selects nothing. */
function fakeFzf (dir: string): string {
  const bin = join(dir, 'bin')
  mkdirSync(bin, { recursive: true })
  const path = join(bin, 'fzf')
  const script = `#!/bin/sh
case "$1" in --version) echo "0.38.0 (bench)"; exit 0;; esac
head -c 1 > /dev/null; date +%s%N > "${dir}/first"
cat > /dev/null; date +%s%N > "${dir}/end"
exit 130
`
  writeFileSync(path, script, { mode: 0o755 })
  return bin
}

async function endToEnd (dbPath: string, dir: string, bin: string): Promise<{ firstMs: number, wholeMs: number }> {
  rmSync(join(dir, 'first'), { force: true })
  rmSync(join(dir, 'end'), { force: true })
  const env = childEnv({ PATH: `${bin}:${process.env.PATH ?? ''}` })
  const startNs = BigInt(Date.now()) * 1_000_000n
  await new Promise<void>((resolve, reject) => {
    const child = spawn(process.execPath, [rrBin, '--db-path', dbPath, 'search', '--query', ''], { env, stdio: ['ignore', 'ignore', 'inherit'] })
    child.on('error', reject)
    child.on('exit', () => resolve())
  })
  const stamp = (name: string): number => Number(BigInt(readFileSync(join(dir, name), 'utf8').trim()) - startNs) / 1e6
  return { firstMs: stamp('first'), wholeMs: stamp('end') }
}

/** The rows of a database in entryFields order, as the bare loop takes them. */
function rowsOf (sourcePath: string): unknown[][] {
  const source = openDatabase(sourcePath, { readonly: true })
  try {
    return source.prepare(`SELECT ${entryFields.join(', ')} FROM entries ORDER BY ingest_seq`).raw().all() as unknown[][]
  } finally {
    source.close()
  }
}

export async function benchSearch (): Promise<Record<string, string | number>> {
  const entries = Number(process.env.BENCH_ENTRIES ?? 1_000_000)
  const importLines = Number(process.env.BENCH_IMPORT_LINES ?? 1_000_000)
  const limit = 100_000
  const dir = mkdtempSync(join(tmpdir(), 'rustory-bench-search-'))
  const results: Record<string, string | number> = {}
  try {
    const dbPath = join(dir, 'history.db')
    results['search: entries in the db'] = entries
    results['search: build db (ms, bare inserts)'] = Math.round(buildDb(dbPath, entries))

    const size = sizes(dbPath)
    results['search: db size (MB)'] = Number((size.total / 1e6).toFixed(1))
    results['search: command_latest rows (distinct commands)'] = size.rows
    results['search: command_latest size, table + indexes (MB)'] = Number((size.commandLatest / 1e6).toFixed(1))
    results['search: command_latest share of the db (%)'] = Number((100 * size.commandLatest / size.total).toFixed(1))

    const v2Path = join(dir, 'history-v2.db')
    const migrations = []
    for (let i = 0; i < runs; i++) {
      const migratedPath = join(dir, 'migrated.db')
      copyAsV2(dbPath, migratedPath)
      const started = performance.now()
      openDatabase(migratedPath).close()
      migrations.push(performance.now() - started)
      rmSync(migratedPath, { force: true })
    }
    results['search: v3 migration on a v2 db, backfill included (ms, best / median)'] = bestMedian(migrations)
    copyAsV2(dbPath, v2Path)

    const feeds = []
    for (let i = 0; i < runs; i++) feeds.push(await feedInProcess(dbPath, limit))
    results['search: feed rows'] = feeds[0]!.rows
    results['search: feed first line (ms, best / median)'] = bestMedian(feeds.map((f) => f.firstMs), 1)
    results['search: feed first worker chunk (ms, best / median)'] = bestMedian(feeds.map((f) => f.workerFirstMs), 1)
    results['search: feed whole 100k (ms, best / median)'] = bestMedian(feeds.map((f) => f.wholeMs))
    const oldFeeds = []
    for (let i = 0; i < runs; i++) oldFeeds.push(await feedInProcess(v2Path, limit))
    results['search: pre-v3 db (entries scan) feed rows'] = oldFeeds[0]!.rows
    results['search: pre-v3 db (entries scan) feed first line (ms, best / median)'] = bestMedian(oldFeeds.map((f) => f.firstMs), 1)
    results['search: pre-v3 db (entries scan) feed whole 100k (ms, best / median)'] = bestMedian(oldFeeds.map((f) => f.wholeMs))

    const bin = fakeFzf(dir)
    const e2e = []
    for (let i = 0; i < runs; i++) e2e.push(await endToEnd(dbPath, dir, bin))
    results['ctrl+r end to end: process start → first record at fzf (ms, best / median)'] = bestMedian(e2e.map((e) => e.firstMs))
    results['ctrl+r end to end: process start → whole feed at fzf (ms, best / median)'] = bestMedian(e2e.map((e) => e.wholeMs))

    const filters = []
    for (let i = 0; i < runs; i++) {
      const r = await run(process.execPath, [rrBin, '--db-path', dbPath, 'search', '--filter', 'gzip'], childEnv())
      filters.push(r.ms)
      results['search --filter: matches'] = r.stdout.split('\n').length - 1
    }
    results['search --filter (ms wall, best / median)'] = bestMedian(filters)
    const oldFilters = []
    for (let i = 0; i < runs; i++) {
      oldFilters.push((await run(process.execPath, [rrBin, '--db-path', v2Path, 'search', '--filter', 'gzip'], childEnv())).ms)
    }
    results['search --filter on the pre-v3 db (ms wall, best / median)'] = bestMedian(oldFilters)
    rmSync(v2Path, { force: true })

    const historyPath = join(dir, 'zsh_history')
    results['import: zsh history lines'] = await writeZshHistory(historyPath, importLines)
    const importDb = join(dir, 'import.db')
    const imported = await run('/usr/bin/time', ['-f', 'maxrss_kb=%M', process.execPath, rrBin, '--db-path', importDb, 'import', 'zsh', '--path', historyPath], childEnv())
    const lines = results['import: zsh history lines'] as number
    const inserted = Number(/inserted:\s+(\d+)/.exec(imported.stdout)?.[1] ?? 0)
    results['import: rows inserted'] = inserted
    results['import: wall (ms)'] = Math.round(imported.ms)
    results['import: rate (lines/s)'] = Math.round(lines / (imported.ms / 1000))
    results['import: rate (rows/s)'] = Math.round(inserted / (imported.ms / 1000))
    results['import: peak RSS (MB)'] = Math.round(Number(/maxrss_kb=(\d+)/.exec(imported.stderr)?.[1] ?? 0) / 1024)

    // Alternated so a busy spell on the machine hits both sides alike.
    const rows = rowsOf(importDb)
    const withLatest: Array<{ ms: number, rows: number }> = []
    const entriesOnly: Array<{ ms: number, rows: number }> = []
    for (let i = 0; i < runs; i++) {
      entriesOnly.push(bareLoop(rows, join(dir, 'bare.db'), { commandLatest: false, batch: 5000 }))
      withLatest.push(bareLoop(rows, join(dir, 'bare.db'), { batch: 5000 }))
    }
    rmSync(join(dir, 'bare.db'), { force: true })
    const rate = (r: { ms: number, rows: number }): number => r.rows / (r.ms / 1000)
    const bare = withLatest.reduce((a, b) => rate(a) >= rate(b) ? a : b)
    results['bare better-sqlite3 loop: rows'] = bare.rows
    results['bare better-sqlite3 loop: insert time (ms, best / median)'] = bestMedian(withLatest.map((r) => r.ms))
    results['bare better-sqlite3 loop: rate (rows/s, best / median)'] = bestMedianRate(withLatest.map(rate))
    results['bare better-sqlite3 loop without command_latest: rate (rows/s, best / median)'] = bestMedianRate(entriesOnly.map(rate))
    results['command_latest upkeep: bare loop rate with / without (best, median)'] =
      `${(Math.max(...withLatest.map(rate)) / Math.max(...entriesOnly.map(rate))).toFixed(2)}, ${(median(withLatest.map(rate)) / median(entriesOnly.map(rate))).toFixed(2)}`
    const importRate = inserted / (imported.ms / 1000)
    results['import / bare ratio (rows/s, vs the best / median bare run, target >= 0.8)'] =
      `${(importRate / rate(bare)).toFixed(2)} / ${(importRate / median(withLatest.map(rate))).toFixed(2)}`
    return results
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] != null && fileURLToPath(import.meta.url) === process.argv[1]) {
  const results = await benchSearch()
  for (const [name, value] of Object.entries(results)) console.log(`${name}: ${value}`)
}
