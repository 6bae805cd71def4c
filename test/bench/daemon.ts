/**
 * `rr daemon` figures: the time from `rr record` on device A to the entry being in device B's database, both
 * under their daemons on 127.0.0.1 (median of 20; the record process's own start-up is included, and also given
 * separately), then the idle daemon's CPU and RSS. BENCH_DAEMON_IDLE_SEC sets the idle window (default 300 s).
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { isolatedEnv, repoRoot, rr, rrBin } from '../helpers/cli.js'

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

function median (values: number[]): number {
  const s = [...values].sort((a, b) => a - b)
  return s.length % 2 === 1 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2
}

function has (dbPath: string, entryId: string): boolean {
  try {
    const db = new Database(dbPath, { readonly: true, fileMustExist: true })
    try { return db.prepare('SELECT 1 FROM entries WHERE entry_id = ?').get(entryId) != null } finally { db.close() }
  } catch {
    return false
  }
}

/** utime + stime of a process in seconds (Linux /proc; clock ticks are 100 per second here). */
function cpuSec (pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

function rssMb (pid: number): number {
  const kb = Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1])
  return kb / 1024
}

async function waitFor (child: ChildProcess, re: RegExp, output: () => string, timeoutMs: number): Promise<RegExpMatchArray> {
  const deadline = Date.now() + timeoutMs
  for (;;) {
    const m = output().match(re)
    if (m != null) return m
    if (child.exitCode != null) throw new Error(`exited ${child.exitCode}: ${output()}`)
    if (Date.now() > deadline) throw new Error(`no ${re} in ${timeoutMs} ms: ${output()}`)
    await sleep(100)
  }
}

function start (args: string[], env: NodeJS.ProcessEnv): { child: ChildProcess, output: () => string } {
  const child = spawn(process.execPath, [rrBin, ...args], { env, cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout!.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr!.on('data', (d: Buffer) => { out += d.toString() })
  return { child, output: () => out }
}

export async function benchDaemon (runs = 20, idleSec = Number(process.env.BENCH_DAEMON_IDLE_SEC ?? 300)): Promise<Record<string, string | number>> {
  const dir = mkdtempSync(join(tmpdir(), 'rustory-bench-daemon-'))
  const children: ChildProcess[] = []
  try {
    const tracker = start(['tracker-serve', '--bind', '127.0.0.1:0', '--ttl-sec', '60'], isolatedEnv(join(dir, 'tracker')))
    children.push(tracker.child)
    const url = (await waitFor(tracker.child, /tracker listen: (http:\/\/127\.0\.0\.1:\d+)/, tracker.output, 60_000))[1]!
    const devices = ['a', 'b'].map((name) => {
      const home = join(dir, name)
      mkdirSync(join(home, '.config', 'rustory'), { recursive: true })
      writeFileSync(join(home, '.config', 'rustory', 'config.toml'), `trackers = ["${url}"]\n`)
      return { name, home, env: isolatedEnv(home, { RUSTORY_DEVICE_ID: `bench-${name}` }), dbPath: join(home, '.rustory', 'history.db') }
    })
    const [a, b] = devices as [typeof devices[0], typeof devices[0]]
    const invite = await rr(['invite'], { env: a.env })
    const joined = await rr(['join', invite.stdout.trim().split(' ')[2]!], { env: b.env })
    if (joined.code !== 0) throw new Error(`join: ${joined.stderr}`)
    const daemons = devices.map((d) => start(['daemon', '--listen', '/ip4/127.0.0.1/tcp/0'], d.env))
    children.push(...daemons.map((d) => d.child))
    // Both daemons found each other (one full round each way), so what follows measures the push on record.
    for (const d of daemons) await waitFor(d.child, /sync: peer=\S+ ok/, d.output, 120_000)

    const total: number[] = []
    const afterRecord: number[] = []
    for (let i = 0; i < runs; i++) {
      const started = performance.now()
      const r = await rr(['record', '--cmd', `echo bench ${i}`, '--cwd', '/tmp', '--exit-code', '0', '--duration-ms', '1', '--shell', 'bash', '--print-id'], { env: a.env })
      const recorded = performance.now()
      const id = r.stdout.trim()
      while (!has(b.dbPath, id)) {
        if (performance.now() - started > 60_000) throw new Error(`entry ${id} not on b after 60 s:\n${daemons.map((d) => d.output()).join('\n')}`)
        await sleep(10)
      }
      const seen = performance.now()
      total.push(seen - started)
      afterRecord.push(seen - recorded)
      await sleep(300)
    }

    // Idle: nothing recorded; the daemons run their 60 s rounds and tracker registrations.
    await sleep(5000)
    const pid = daemons[0]!.child.pid!
    const linesBefore = daemons[0]!.output().split('\n').length
    const cpu0 = cpuSec(pid)
    const t0 = performance.now()
    let rssMax = rssMb(pid)
    while (performance.now() - t0 < idleSec * 1000) {
      await sleep(Math.min(5000, idleSec * 1000))
      rssMax = Math.max(rssMax, rssMb(pid))
    }
    const window = (performance.now() - t0) / 1000
    const cpuPct = (cpuSec(pid) - cpu0) / window * 100
    const idleLines = daemons[0]!.output().split('\n').length - linesBefore
    return {
      'record -> visible on the other device, median of 20 (ms, includes rr record start-up)': median(total).toFixed(0),
      '  min / max (ms)': `${Math.min(...total).toFixed(0)} / ${Math.max(...total).toFixed(0)}`,
      'after rr record exited -> visible, median (ms)': median(afterRecord).toFixed(0),
      'idle window measured (s)': window.toFixed(0),
      'idle daemon CPU (% of one core)': cpuPct.toFixed(2),
      'idle daemon RSS (MB, max over the window)': rssMax.toFixed(0),
      'idle daemon log lines in the window': idleLines
    }
  } finally {
    for (const c of children) if (c.exitCode == null) c.kill('SIGTERM')
    await sleep(1000)
    for (const c of children) if (c.exitCode == null) c.kill('SIGKILL')
    rmSync(dir, { recursive: true, force: true })
  }
}
