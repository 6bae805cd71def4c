/**
 * A large history spread over five years, built fast for tests and benches: direct SQL in one transaction with
 * prepared multi-row statements, ids and times in ascending order (so every index is appended to), and
 * command_latest written from what the loop already knows instead of the product's per-batch upsert.
 */
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { openDatabase } from '../../src/store/db.js'
import { prng } from './prng.js'

const day = 24 * 3600 * 1000
const year = 365 * day

export interface FiveYears {
  entries: number
  distinct: number
  /** A command used exactly once, about four years before `now`. */
  onceFourYearsAgo: string
  /** The oldest entry's command, used once (the last row of the feed: when it is searchable, everything is). */
  oldest: string
  buildMs: number
}

const common = ['git status', 'ls -la', 'cd ..', 'make test', 'npm run build', 'git diff', 'git push', 'docker ps',
  'kubectl get pods', 'htop', 'git log --oneline', 'cargo build', 'vim .', 'pwd', 'clear']

function uuidOf (i: number): string {
  const hex = i.toString(16).padStart(20, '0')
  return `${hex.slice(0, 8)}-0000-4000-8${hex.slice(8, 11)}-${hex.slice(8, 20)}`
}

/** Writes `n` entries from `now` - 5 years to `now` into a new database at `path`. */
export function buildFiveYears (path: string, n: number, now = Date.now()): FiveYears {
  const started = performance.now()
  const random = prng(7)
  const db = openDatabase(path)
  db.pragma('synchronous = OFF')
  db.pragma('cache_size = -262144')
  // The indexes are built once at the end (one sort each) instead of row by row: the same definitions, from the schema.
  const indexes = db.prepare("SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL AND tbl_name IN ('entries', 'command_latest')").all() as Array<{ name: string, sql: string }>
  for (const { name } of indexes) db.exec(`DROP INDEX ${name}`)
  const start = now - 5 * year
  const step = (5 * year) / n
  const special = Math.floor(n / 5) // one fifth in: about four years ago
  const onceFourYearsAgo = 'kubectl rollout undo deployment/quokka-four-years-ago --to-revision=3'
  const rowsPer = 50
  const columns = '(entry_id, device_id, user_id, ts, cmd, cwd, exit_code, duration_ms, shell, hostname, version)'
  const many = db.prepare(`INSERT INTO entries ${columns} VALUES ${Array.from({ length: rowsPer }, () => '(?, ?, \'u\', ?, ?, ?, ?, ?, \'zsh\', ?, \'0.1.0\')').join(', ')}`)
  const one = db.prepare(`INSERT INTO entries ${columns} VALUES (?, ?, 'u', ?, ?, ?, ?, ?, 'zsh', ?, '0.1.0')`)
  const latest = new Map<string, number>()
  const cmds: string[] = new Array(n)
  const tss: string[] = new Array(n)
  const devices: string[] = new Array(n)
  let oldest = ''
  db.transaction(() => {
    let params: unknown[] = []
    for (let i = 0; i < n; i++) {
      const r = random()
      const cmd = i === 0
        ? 'echo the-very-first-command-five-years-ago'
        : i === special
          ? onceFourYearsAgo
          : r < 0.5 ? common[Math.floor(random() * common.length)]!
            : r < 0.7 ? `cd ~/src/project${Math.floor(random() * 2000)}`
              : `vim src/module${i % 9973}/file${i}.ts`
      const ts = new Date(start + Math.floor(i * step)).toISOString()
      const device = `device-${i % 4}`
      if (i === 0) oldest = cmd
      cmds[i] = cmd
      tss[i] = ts
      devices[i] = device
      latest.set(cmd, i)
      params.push(uuidOf(i), device, ts, cmd, `/home/u/src/project${i % 50}`, r < 0.05 ? 1 : 0, Math.floor(random() * 5000), `host-${i % 4}`)
      if (params.length === rowsPer * 8) {
        many.run(params)
        params = []
      }
    }
    for (let k = 0; k < params.length; k += 8) one.run(...params.slice(k, k + 8))
    const insertLatest = db.prepare('INSERT INTO command_latest (ts, device_id, entry_id, cmd) VALUES (?, ?, ?, ?)')
    for (const [cmd, i] of latest) insertLatest.run(tss[i], devices[i], uuidOf(i), cmd)
    for (const { sql } of indexes) db.exec(sql)
  }).immediate()
  db.close()
  return { entries: n, distinct: latest.size, onceFourYearsAgo, oldest, buildMs: performance.now() - started }
}

/**
 * buildFiveYears in a child process, its pages then written to disk (`sync`): a bench measuring latency afterwards
 * keeps neither the build's heap (a bigger process forks its measuring tools slower) nor its dirty pages (written
 * back meanwhile, they compete with what is measured).
 */
export function buildFiveYearsApart (path: string, n: number): FiveYears {
  const r = spawnSync(process.execPath, [fileURLToPath(import.meta.url), path, String(n)], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] })
  if (r.status !== 0) throw new Error(`building ${n} entries exited ${String(r.status)}`)
  spawnSync('sync')
  return JSON.parse(r.stdout) as FiveYears
}

if (import.meta.url === `file://${process.argv[1]}`) {
  process.stdout.write(JSON.stringify(buildFiveYears(process.argv[2]!, Number(process.argv[3]))))
}
