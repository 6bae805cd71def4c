/**
 * Record bench: the median wall time of `rr record` beside `node -e 0` measured in the same run, interleaved (the
 * ratio is the figure; target ≤ 1.5×), and how long the prompt waits for the hook: the zsh precmd function and the
 * bash PROMPT_COMMAND function timed inside the shell with EPOCHREALTIME around the call (target < 10 ms).
 * NODE_EXTRA_CA_CERTS is removed from the children's environment (it costs every node start a certificate load).
 */
import { execFileSync, spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const rrBin = fileURLToPath(new URL('../../../bin/rr', import.meta.url))
const millisecond = 1

function median (values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2
}

function cleanEnv (home: string): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home }
  for (const key of Object.keys(env)) if (key.startsWith('RUSTORY_')) delete env[key]
  delete env.NODE_EXTRA_CA_CERTS
  delete env.NODE_OPTIONS
  return env
}

function timeRun (args: string[], env: NodeJS.ProcessEnv): number {
  const start = process.hrtime.bigint()
  const r = spawnSync(process.execPath, args, { env, stdio: 'ignore' })
  const ms = Number(process.hrtime.bigint() - start) / 1e6
  if (r.status !== 0) throw new Error(`${args.join(' ')} exited ${r.status}`)
  return ms
}

/** Times the hook function inside the shell; prints one duration in ms per line. */
function hookScript (shell: 'zsh' | 'bash', hook: string, runs: number): string[] {
  if (shell === 'zsh') {
    return ['zsh', '-f', '-c', `
      source ${JSON.stringify(hook)}
      zmodload zsh/datetime
      for i in {1..${runs}}; do
        _rustory_preexec "echo bench $i" "echo bench $i" "echo bench $i"
        true
        t0=$EPOCHREALTIME
        _rustory_precmd
        t1=$EPOCHREALTIME
        printf '%.3f\\n' $(( (t1 - t0) * 1000 ))
        sleep 0.15
      done`]
  }
  return ['bash', '--norc', '--noprofile', '-c', `
    set -o history
    source ${JSON.stringify(hook)}
    for ((i = 1; i <= ${runs}; i++)); do
      history -s "echo bench $i"
      _rustory_last_hist=before
      : "\${_rustory_ps0@P}" # what PS0 does when the command starts
      true
      t0=\${EPOCHREALTIME//[!0-9]/}
      _rustory_prompt
      t1=\${EPOCHREALTIME//[!0-9]/}
      printf '%d.%03d\\n' $(( (t1 - t0) / 1000 )) $(( (t1 - t0) % 1000 ))
      sleep 0.15
    done`]
}

export async function benchRecord (runs = Number(process.env.BENCH_RECORD_RUNS ?? 30)): Promise<Record<string, string | number>> {
  const home = mkdtempSync(join(tmpdir(), 'rustory-bench-record-'))
  try {
    const env = cleanEnv(home)
    const cwd = home
    // The database exists already, as after the first prompt of any shell.
    timeRun([rrBin, 'record', '--cmd', 'warm-up', '--cwd', cwd], env)
    for (let i = 0; i < 3; i++) timeRun(['-e', '0'], env)
    const node: number[] = []
    const record: number[] = []
    for (let i = 0; i < runs; i++) {
      node.push(timeRun(['-e', '0'], env))
      record.push(timeRun([rrBin, 'record', '--cmd', `make test-${i}`, '--cwd', cwd, '--exit-code', '0', '--duration-ms', '1234', '--shell', 'zsh'], env))
    }
    const recordMedian = median(record)
    const nodeMedian = median(node)

    const hooks: Record<string, number> = {}
    for (const shell of ['zsh', 'bash'] as const) {
      const hook = join(home, `hook.${shell}`)
      writeFileSync(hook, execFileSync(process.execPath, [rrBin, 'init', shell], { env, encoding: 'utf8' }))
      const [program, ...args] = hookScript(shell, hook, runs)
      const out = execFileSync(program!, args, { env, encoding: 'utf8', cwd })
      const times = out.trim().split('\n').map(Number).filter((n) => Number.isFinite(n))
      if (times.length !== runs) throw new Error(`${shell} hook timing printed ${times.length} values:\n${out}`)
      hooks[shell] = median(times)
    }
    // Let the last background recordings finish before the directory goes.
    await new Promise((resolve) => setTimeout(resolve, 1000))
    return {
      'record runs': runs,
      'rr record median (ms)': Number(recordMedian.toFixed(1)),
      'node -e 0 median (ms)': Number(nodeMedian.toFixed(1)),
      'rr record / node -e 0': Number((recordMedian / nodeMedian).toFixed(2)),
      'rr record target': '<= 1.5x',
      'zsh precmd hook median (ms)': Number(hooks.zsh!.toFixed(2)),
      'bash PROMPT_COMMAND hook median (ms)': Number(hooks.bash!.toFixed(2)),
      'hook target': `< ${10 * millisecond} ms`
    }
  } finally {
    rmSync(home, { recursive: true, force: true })
  }
}

if (process.argv[1] != null && fileURLToPath(import.meta.url) === process.argv[1]) {
  const result = await benchRecord()
  for (const [key, value] of Object.entries(result)) process.stdout.write(`${key}: ${value}\n`)
}
