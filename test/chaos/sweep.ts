/**
 * `npm run chaos-sweep [-- --runs N --seed-from S]`: the short chaos run (the one `npm test` runs with its fixed
 * seed) over random seeds, one after another, printing each seed and its verdict; exits 1 and prints every failing
 * seed with the command that replays it.
 */
import { parseArgs } from 'node:util'
import { runChaos } from './harness.js'
import { chaosFailures, replayCommand, shortChaosOptions } from './short.js'

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '5' },
    'seed-from': { type: 'string' },
    help: { type: 'boolean', default: false }
  }
})

if (values.help) {
  console.log(`npm run chaos-sweep -- [options]
  --runs N          short chaos runs, each with its own seed (default 5)
  --seed-from S     seeds S, S+1, … instead of random ones`)
  process.exit(0)
}

const runs = Number(values.runs)
const first = values['seed-from'] != null ? Number(values['seed-from']) : undefined
const failing: number[] = []
for (let i = 0; i < runs; i++) {
  const seed = first != null ? first + i : Math.floor(Math.random() * 2 ** 31)
  process.stdout.write(`chaos-sweep: run ${i + 1}/${runs} seed ${seed}\n`)
  const result = await runChaos(shortChaosOptions(seed))
  const failures = chaosFailures(result)
  process.stdout.write(`chaos-sweep: seed ${seed} ${failures.length === 0 ? 'ok' : `FAILED: ${failures.join('; ')}`} (${result.summary})\n`)
  if (failures.length > 0) failing.push(seed)
}
if (failing.length > 0) {
  process.stdout.write(`chaos-sweep: ${failing.length} of ${runs} seeds failed:\n${failing.map((s) => `  ${s}: ${replayCommand(s)}`).join('\n')}\n`)
  process.exitCode = 1
} else {
  process.stdout.write(`chaos-sweep: all ${runs} seeds converged\n`)
}
