/**
 * The short chaos run that `npm test` runs (chaos-short.test.ts), replays (`npm run chaos -- --short --seed N`)
 * and sweeps (`npm run chaos-sweep`): one set of options, so a seed means the same fault schedule everywhere.
 */
import type { ChaosOptions, ChaosResult } from './harness.js'

/** The seed `npm test` runs with; CHAOS_SEED picks another. A sweep that finds a failing seed prints it. */
export const defaultChaosSeed = 20_261_202

/** `CHAOS_SEED` when set (a replay inside ava), else the fixed default. */
export function chaosSeedFrom (value: string | undefined): number {
  if (value == null || value === '') return defaultChaosSeed
  const seed = Number(value)
  if (!Number.isSafeInteger(seed) || seed < 0) throw new RangeError(`CHAOS_SEED must be a non-negative integer, got ${JSON.stringify(value)}`)
  return seed
}

/**
 * 8 devices under kill -9 and SIGSTOP faults for 30 s. To stay within 2 cores, each sync process syncs with 3
 * peers (the ring neighbour plus 2 random ones) instead of the full mesh, and devices record every 1.5–3 s.
 */
export function shortChaosOptions (seed: number, log?: (line: string) => void): ChaosOptions {
  return {
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
    log
  }
}

/** What went wrong in a run, one line each; empty when it converged with nothing lost, duplicated or back. */
export function chaosFailures (result: ChaosResult): string[] {
  const failures = [...result.problems]
  if (result.convergeMs == null) failures.push('did not converge')
  for (const key of ['lost', 'duplicated', 'resurrected', 'undeleted', 'mismatched', 'unexpected'] as const) {
    if (result[key] !== 0) failures.push(`${key}: ${result[key]}`)
  }
  return failures
}

export const replayCommand = (seed: number): string => `npm run chaos -- --short --seed ${seed}`
