/**
 * `npm run bench`: every figure the issues ask for, printed, in one run on this machine.
 * Set BENCH_ONLY=record,search,p2p,sync to run a subset. Never part of `npm test`.
 */
import { benchP2P } from './p2p.js'
import { benchRecord } from './record.js'
import { benchSearch } from './search.js'
import { benchSync } from './sync.js'

const benches: Record<string, () => Promise<Record<string, unknown>>> = {
  record: async () => await benchRecord(),
  search: async () => await benchSearch(),
  p2p: async () => ({ ...(await benchP2P()) }),
  sync: async () => await benchSync()
}

const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim()).filter((s) => s !== '')
for (const [name, run] of Object.entries(benches)) {
  if (only != null && !only.includes(name)) continue
  const started = performance.now()
  console.log(`\n== ${name}`)
  try {
    const figures = await run()
    for (const [key, value] of Object.entries(figures)) console.log(`${key}: ${String(value)}`)
  } catch (err) {
    console.log(`FAILED: ${err instanceof Error ? err.stack ?? err.message : String(err)}`)
    process.exitCode = 1
  }
  console.log(`(${((performance.now() - started) / 1000).toFixed(1)} s)`)
}
