/**
 * ctrl+r bench at a million entries over five years (test/helpers/five-years.ts), in a real bash with the hook in
 * tmux and the real fzf:
 *  - first screen: from the ctrl+r key press (tmux send-keys) to the first row drawn, median of 10 (target < 100 ms);
 *    again with a command recorded just before each press (it waits in the record spool, as after every command when
 *    no server drains it);
 *  - whole history searchable: from the key press, with the oldest command's words typed at once, to its row on
 *    screen (it is the last row of the feed);
 *  - shell start-up cost of the hook against `node -e 0`: an interactive bash/zsh/fish that loads it and exits, with
 *    `eval "$(rr init …)"` and with the static file of `rr init … --write`, minus the same shell without it.
 * NODE_EXTRA_CA_CERTS is removed from the children's environment (it costs every node start a certificate load).
 * Run standalone: `node dist/test/bench/ctrlr.js` (BENCH_ENTRIES scales the database down).
 */
import { execFile, spawnSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildFiveYearsApart } from '../helpers/five-years.js'

const rrBin = fileURLToPath(new URL('../../../bin/rr', import.meta.url))
const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

function cleanEnv (home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, ...extra }
  for (const key of Object.keys(env)) if (key.startsWith('RUSTORY_') && !(key in extra)) delete env[key]
  delete env.NODE_EXTRA_CA_CERTS
  delete env.NODE_OPTIONS
  delete env.TMUX
  delete env.FZF_DEFAULT_OPTS
  return env
}

async function tmux (socket: string, args: string[], env?: NodeJS.ProcessEnv): Promise<string> {
  return await new Promise((resolve, reject) => {
    execFile('tmux', ['-L', socket, ...args], { env: env ?? process.env }, (err, stdout) => err != null ? reject(err) : resolve(stdout))
  })
}

async function until (socket: string, test: (screen: string) => boolean, timeoutMs = 120_000): Promise<number> {
  const deadline = performance.now() + timeoutMs
  for (;;) {
    const screen = await tmux(socket, ['capture-pane', '-p', '-t', 'b'])
    if (test(screen)) return performance.now()
    if (performance.now() > deadline) throw new Error(`timed out; screen:\n${screen}`)
  }
}

const row = /\d+(s|m|h|d|w|mo|y) [✓✗?]/
const fzfOpen = (s: string): boolean => s.includes('GLOBAL') && row.test(s)

/** Starts time per shell run: the median of `runs` interactive starts that exit at once. */
function startMs (argv: string[], env: NodeJS.ProcessEnv, runs: number): number {
  const times: number[] = []
  for (let i = 0; i < runs; i++) {
    const start = process.hrtime.bigint()
    const r = spawnSync(argv[0]!, argv.slice(1), { env, stdio: 'ignore' })
    times.push(Number(process.hrtime.bigint() - start) / 1e6)
    if (r.status !== 0) throw new Error(`${argv.join(' ')} exited ${r.status}`)
  }
  return median(times)
}

function startupCost (dir: string): Record<string, string> {
  const home = join(dir, 'startup-home')
  mkdirSync(home, { recursive: true })
  const env = cleanEnv(home)
  const runs = Number(process.env.BENCH_RUNS ?? 15)
  const figures: Record<string, string> = {}
  const node = startMs([process.execPath, '-e', '0'], env, runs)
  figures['node -e 0 (ms, median)'] = node.toFixed(1)
  const written = (shell: string): string => {
    const r = spawnSync(process.execPath, [rrBin, 'init', shell, '--write'], { env, encoding: 'utf8' })
    return r.stdout.trim()
  }
  const node0 = `${JSON.stringify(process.execPath)} ${JSON.stringify(rrBin)}`
  const shells: Array<{ shell: string, bare: string[], load: (line: string) => string[], eval: string }> = [
    { shell: 'bash', bare: ['bash', '--norc', '--noprofile', '-i', '-c', 'exit'], load: (line) => ['bash', '--norc', '--noprofile', '-i', '-c', `${line}; exit`], eval: `eval "$(${node0} init bash)"` },
    { shell: 'zsh', bare: ['zsh', '-f', '-i', '-c', 'exit'], load: (line) => ['zsh', '-f', '-i', '-c', `${line}; exit`], eval: `eval "$(${node0} init zsh)"` },
    { shell: 'fish', bare: ['fish', '--no-config', '-i', '-c', 'exit'], load: (line) => ['fish', '--no-config', '-i', '-c', `${line}; exit`], eval: `${node0} init fish | source` }
  ]
  for (const s of shells) {
    const bare = startMs(s.bare, env, runs)
    const evaled = startMs(s.load(s.eval), env, runs) - bare
    const stat = startMs(s.load(written(s.shell)), env, runs) - bare
    figures[`${s.shell} start-up cost of the hook, eval "$(rr init)" (ms; x node -e 0)`] = `${evaled.toFixed(1)} (${(evaled / node).toFixed(2)}x)`
    figures[`${s.shell} start-up cost of the hook, static file of rr init --write (ms; x node -e 0)`] = `${stat.toFixed(1)} (${(stat / node).toFixed(2)}x)`
  }
  return figures
}

async function measureCtrlR (): Promise<Record<string, string | number>> {
  const dir = mkdtempSync(join(tmpdir(), 'rustory-bench-ctrlr-'))
  const socket = `rr-bench-${process.pid}`
  try {
    const entries = Number(process.env.BENCH_ENTRIES ?? 1_000_000)
    const dbPath = join(dir, 'history.db')
    const built = buildFiveYearsApart(dbPath, entries)
    const env = cleanEnv(dir, { RUSTORY_DB_PATH: dbPath })
    env.TERM = 'xterm-256color'
    env.LANG = 'C.UTF-8'
    const hook = join(dir, 'hook.bash')
    writeFileSync(hook, spawnSync(process.execPath, [rrBin, 'init', 'bash'], { env, encoding: 'utf8' }).stdout)
    // The floor, in the same shell: ctrl+o runs `node -e 0`, then fzf on a fixed first screen of 64 rows from a file.
    // Any node-based ctrl+r pays these two; what rr adds is the ratio above 1.
    const floorFeed = join(dir, 'floor-feed')
    writeFileSync(floorFeed, ['GLOBAL (floor)', ...Array.from({ length: 64 }, (_, i) => `${i + 1}m ✓   0.1s  floor-command-${i}`)].join('\n') + '\n')
    const floor = `_bench_floor() { local r; r=$(${JSON.stringify(process.execPath)} -e 0; fzf --no-multi --height=40% --header-lines=1 < ${JSON.stringify(floorFeed)}); }\nbind -x '"\\C-o": _bench_floor'\n`
    writeFileSync(join(dir, 'rc'), `PS1='BENCH> '\nsource ${JSON.stringify(hook)}\n${floor}`)
    await tmux(socket, ['-f', '/dev/null', 'new-session', '-d', '-s', 'b', '-x', '200', '-y', '50', '--', 'bash', '--rcfile', join(dir, 'rc'), '-i'], env)
    await until(socket, (s) => s.includes('BENCH>'))
    // Warm: the first ctrl+r reads the database from disk. The floor's runs alternate with ctrl+r's, so load on the
    // machine hits both alike.
    const pressToFirstRow = async (key: string): Promise<number> => {
      const pressed = performance.now()
      await tmux(socket, ['send-keys', '-t', 'b', key])
      const drawn = await until(socket, fzfOpen)
      await tmux(socket, ['send-keys', '-t', 'b', 'Escape'])
      await until(socket, (s) => !s.includes('GLOBAL'))
      await sleep(200)
      return drawn - pressed
    }
    const first: number[] = []
    const floorRuns: number[] = []
    for (let i = 0; i < 11; i++) {
      const rr = await pressToFirstRow('C-r')
      const bare = await pressToFirstRow('C-o')
      if (i > 0) {
        first.push(rr)
        floorRuns.push(bare)
      }
    }
    // A command recorded just before each press waits in the spool: ctrl+r must show it.
    const spooled: number[] = []
    for (let i = 0; i < 10; i++) {
      const cmd = `echo recorded-just-now-${i}`
      const r = spawnSync(process.execPath, [rrBin, 'record', '--cmd', cmd, '--shell', 'bash', '--cwd', dir, '--exit-code', '0'], { env })
      if (r.status !== 0) throw new Error(`rr record exited ${r.status}`)
      const pressed = performance.now()
      await tmux(socket, ['send-keys', '-t', 'b', 'C-r'])
      spooled.push(await until(socket, (s) => fzfOpen(s) && s.includes(cmd)) - pressed)
      await tmux(socket, ['send-keys', '-t', 'b', 'Escape'])
      await until(socket, (s) => !s.includes('GLOBAL'))
      await sleep(200)
    }
    const whole: number[] = []
    for (let i = 0; i < 3; i++) {
      const pressed = performance.now()
      await tmux(socket, ['send-keys', '-t', 'b', 'C-r'])
      await tmux(socket, ['send-keys', '-t', 'b', '-l', 'the-very-first-command'])
      const found = await until(socket, (s) => / 1\/\d+/.test(s) && s.includes(built.oldest))
      whole.push(found - pressed)
      await tmux(socket, ['send-keys', '-t', 'b', 'Escape'])
      await until(socket, (s) => !s.includes('GLOBAL'))
      await sleep(500)
    }
    return {
      'ctrl+r entries / distinct commands': `${built.entries} / ${built.distinct}`,
      'ctrl+r key press to first row drawn at 1M (ms, median of 10; target < 100)': median(first).toFixed(0),
      'ctrl+r key press to first row drawn (ms, min / max)': `${Math.min(...first).toFixed(0)} / ${Math.max(...first).toFixed(0)}`,
      'floor: key press to first row of `node -e 0; fzf < 64-row file` in the same shell (ms, median of 10)': median(floorRuns).toFixed(0),
      'ctrl+r first screen against that floor (x)': (median(first) / median(floorRuns)).toFixed(2),
      'ctrl+r key press to first row drawn, a command just recorded waiting in the spool and shown (ms, median of 10)': median(spooled).toFixed(0),
      'ctrl+r key press to the whole history searchable: the oldest command found (ms, median of 3)': median(whole).toFixed(0),
      ...startupCost(dir)
    }
  } finally {
    await tmux(socket, ['kill-server']).catch(() => {})
    rmSync(dir, { recursive: true, force: true })
  }
}

/**
 * The measurements in a process of their own: the bench runner's heap, grown by the sections before, would slow each
 * fork of the tmux and shell processes that time them.
 */
export async function benchCtrlR (): Promise<Record<string, string | number>> {
  const child = spawnSync(process.execPath, [fileURLToPath(import.meta.url), '--json'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 1 << 20 })
  if (child.status !== 0) throw new Error(`the ctrl+r bench exited ${String(child.status)}`)
  return JSON.parse(child.stdout) as Record<string, string | number>
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await measureCtrlR()
  if (process.argv.includes('--json')) process.stdout.write(JSON.stringify(figures))
  else for (const [key, value] of Object.entries(figures)) console.log(`${key}: ${String(value)}`)
}
