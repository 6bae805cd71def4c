/** "Did you mean": the closest known name to a mistyped command or flag. Pure. */
import leven from 'leven'

/** The candidate nearest to `input` when it is close enough to be a typo of it (or `input` starts it), else undefined. */
export function closest (input: string, candidates: readonly string[]): string | undefined {
  const limit = Math.max(1, Math.floor(input.length / 3))
  let best: string | undefined
  let bestDistance = Infinity
  for (const candidate of candidates) {
    const distance = leven(input, candidate, { maxDistance: limit + 1 })
    if (distance < bestDistance) {
      best = candidate
      bestDistance = distance
    }
  }
  if (best != null && bestDistance <= limit) return best
  if (input.length >= 3) {
    const prefixed = candidates.filter((c) => c.startsWith(input))
    if (prefixed.length === 1) return prefixed[0]
  }
  return undefined
}

/** ` (did you mean X?)`, or '' when nothing is close. */
export function didYouMean (input: string, candidates: readonly string[]): string {
  const match = closest(input, candidates)
  return match != null ? ` (did you mean ${match}?)` : ''
}
