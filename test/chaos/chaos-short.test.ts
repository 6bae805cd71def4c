/**
 * The short mode of the convergence harness, inside `npm test`: 8 real devices (serve + sync --watch --push +
 * a recorder each) under kill -9 and SIGSTOP faults for about half a minute, then every database must hold exactly
 * the union of what was recorded, less what devices deleted meanwhile (gone everywhere, never back). The options
 * are in short.ts. The seed is fixed (printed; CHAOS_SEED picks another), so a failure replays with
 * `npm run chaos -- --short --seed N`; `npm run chaos-sweep` tries random seeds.
 */
import test from 'ava'
import { runChaos } from './harness.js'
import { chaosFailures, chaosSeedFrom, replayCommand, shortChaosOptions } from './short.js'

test('8 devices converge to the same history through kill -9 and SIGSTOP faults and deletions, with nothing lost, duplicated, resurrected or undeleted', async (t) => {
  // Above the sum of the harness's own limits (serve start up to 120 s, 30 s of faults, up to 90 s to converge,
  // stops), so that on a starved machine the harness itself reports what did not converge, with the seed.
  t.timeout(360_000)
  const seed = chaosSeedFrom(process.env.CHAOS_SEED)
  t.log(`chaos seed ${seed}`)
  const result = await runChaos(shortChaosOptions(seed, (line) => t.log(line)))
  t.log(result.summary)
  const replay = `replay with: ${replayCommand(seed)}`
  t.deepEqual(chaosFailures(result), [], replay)
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
