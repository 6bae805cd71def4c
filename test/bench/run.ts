/**
 * `npm run bench`: every figure the issues ask for, printed, in one run on this machine.
 * Set BENCH_ONLY=record,search,ctrlr,p2p,sync,signing,daemon,dcutr,forget to run a subset (BENCH_DAEMON_IDLE_SEC
 * shortens the daemon's idle window). Never part of `npm test`.
 */
import { execFileSync } from 'node:child_process'
import { benchCtrlR } from './ctrlr.js'
import { benchDaemon } from './daemon.js'
import { benchDcutr } from './dcutr.js'
import { benchForget } from './forget.js'
import { benchP2P } from './p2p.js'
import { benchRecord } from './record.js'
import { benchSearch } from './search.js'
import { benchSigning } from './signing.js'
import { benchSync } from './sync.js'

const benches: Record<string, () => Promise<Record<string, unknown>>> = {
  record: async () => await benchRecord(),
  search: async () => await benchSearch(),
  ctrlr: async () => await benchCtrlR(),
  p2p: async () => ({ ...(await benchP2P()) }),
  sync: async () => await benchSync(),
  signing: async () => await benchSigning(),
  daemon: async () => await benchDaemon(),
  dcutr: async () => await benchDcutr(),
  forget: async () => await benchForget()
}

const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim()).filter((s) => s !== '')
for (const [name, run] of Object.entries(benches)) {
  if (only != null && !only.includes(name)) continue
  // The search bench leaves hundreds of MB of dirty pages behind; written back during the next bench they would
  // slow down whichever side of a comparison happens to run then. Flush them and let the disk settle first.
  execFileSync('sync')
  await new Promise((resolve) => setTimeout(resolve, 2000))
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
