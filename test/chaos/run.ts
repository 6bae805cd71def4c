/**
 * `npm run chaos [-- --seed N --devices 8 --duration-sec 300 ...]`: one long convergence run under faults, with a
 * summary line; exits 1 (printing the seed to replay) when anything was lost, duplicated or differs.
 */
import { parseArgs } from 'node:util'
import { runChaos } from './harness.js'
import { chaosFailures, replayCommand, shortChaosOptions } from './short.js'

const { values } = parseArgs({
  options: {
    seed: { type: 'string' },
    devices: { type: 'string', default: '8' },
    'duration-sec': { type: 'string', default: '300' },
    'seed-entries': { type: 'string', default: '2000' },
    limit: { type: 'string', default: '100' },
    fanout: { type: 'string' },
    'record-every-ms': { type: 'string', default: '100,300' },
    'pause-ms': { type: 'string', default: '10000,20000' },
    'quiesce-timeout-sec': { type: 'string', default: '300' },
    short: { type: 'boolean', default: false },
    keep: { type: 'boolean', default: false },
    quiet: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false }
  }
})

if (values.help) {
  console.log(`npm run chaos -- [options]
  --seed N                  replay a run (printed by every run)
  --short                   the run npm test does (test/chaos/short.ts); the options below are then ignored
  --devices N               real rr devices (default 8)
  --duration-sec N          how long faults are injected (default 300)
  --seed-entries N          entries each device starts with (default 2000)
  --limit N                 p2p-sync --limit (default 100)
  --fanout N                peers each device syncs with (default: all)
  --record-every-ms A,B     gap between rr record calls per device (default 100,300)
  --pause-ms A,B            SIGSTOP pause length (default 10000,20000)
  --quiesce-timeout-sec N   how long to wait for convergence (default 300)
  --keep                    keep the run's directory (logs, databases)
  --quiet                   only the summary line`)
  process.exit(0)
}

const range = (text: string): [number, number] => {
  const [a, b] = text.split(',').map(Number)
  return [a!, b ?? a!]
}

const seed = values.seed != null ? Number(values.seed) : Math.floor(Math.random() * 2 ** 31)
const log = values.quiet ? undefined : (line: string): void => { process.stderr.write(`${new Date().toISOString()} ${line}\n`) }
const result = await runChaos(values.short ? { ...shortChaosOptions(seed, log), keep: values.keep } : {
  seed,
  devices: Number(values.devices),
  durationSec: Number(values['duration-sec']),
  seedEntries: Number(values['seed-entries']),
  limit: Number(values.limit),
  ...(values.fanout != null ? { fanout: Number(values.fanout) } : {}),
  recordEveryMs: range(values['record-every-ms']),
  pauseMs: range(values['pause-ms']),
  quiesceTimeoutSec: Number(values['quiesce-timeout-sec']),
  keep: values.keep,
  log
})
process.stdout.write(`${result.summary}\n`)
const failures = chaosFailures(result)
if (failures.length > 0) {
  for (const p of failures) process.stdout.write(`  problem: ${p}\n`)
  const replay = values.short ? replayCommand(seed) : `npm run chaos -- --seed ${seed} --devices ${values.devices} --duration-sec ${values['duration-sec']}${values.fanout != null ? ` --fanout ${values.fanout}` : ''}`
  process.stdout.write(`chaos FAILED: replay with: ${replay}\n`)
  process.exitCode = 1
}
