/**
 * The short mode of the convergence harness, inside `npm test`: 8 real devices (serve + sync --watch --push +
 * a recorder each) under kill -9 and SIGSTOP faults for about half a minute, then every database must hold exactly
 * the union of what was recorded, less what devices deleted meanwhile (gone everywhere, never back). To stay within 2 cores, each sync process syncs with 3 peers (the ring
 * neighbour plus 2 random ones) instead of the full mesh, and devices record every 1.5–3 s. A failure prints the
 * seed: replay it with `npm run chaos -- --seed N --devices 8 --duration-sec 30 --fanout 3`.
 */
import test from 'ava'
import { runChaos } from './harness.js'

test('8 devices converge to the same history through kill -9 and SIGSTOP faults and deletions, with nothing lost, duplicated, resurrected or undeleted', async (t) => {
  // Above the sum of the harness's own limits (serve start up to 120 s, 30 s of faults, up to 90 s to converge,
  // stops), so that on a starved machine the harness itself reports what did not converge, with the seed.
  t.timeout(360_000)
  const seed = Math.floor(Math.random() * 2 ** 31)
  const result = await runChaos({
    seed,
    devices: 8,
    durationSec: 30,
    seedEntries: 150,
    limit: 40,
    fanout: 3,
    intervalSec: [2, 2],
    recordEveryMs: [1500, 3000],
    faultEveryMs: [1000, 2500],
    downMs: [200, 2000],
    pauseMs: [6000, 8000],
    quiesceTimeoutSec: 90,
    log: (line) => t.log(line)
  })
  t.log(result.summary)
  const replay = `replay with: npm run chaos -- --seed ${seed} --devices 8 --duration-sec 30 --fanout 3`
  t.deepEqual(result.problems, [], replay)
  t.not(result.convergeMs, undefined, replay)
  t.is(result.lost, 0, replay)
  t.is(result.duplicated, 0, replay)
  t.is(result.resurrected, 0, replay)
  t.is(result.undeleted, 0, replay)
  t.true(result.deletedEntries > 0, 'entries were deleted during the faults')
  t.is(result.mismatched, 0, replay)
  t.is(result.unexpected, 0, replay)
  t.true(result.kills + result.pauses > 0, 'faults were injected')
  t.true(result.entries > 8 * 150, 'devices recorded during the run')
})
