/**
 * `--since` / `--until` values: RFC3339 (`2026-01-02T03:04:05Z`), a date (`2026-01-02`, midnight UTC), `now`, or a
 * duration back from now (`30s`, `30m`, `12h`, `7d`, `2w`, combined like `1h30m`). Pure: `now` is passed in.
 */
import { canonicalTs } from '../core/entry.js'
import { UsageError } from './errors.js'

const second = 1000
const minute = 60 * second
const hour = 60 * minute
const day = 24 * hour
const week = 7 * day

const unitMs: Record<string, number> = { s: second, m: minute, h: hour, d: day, w: week }
const relativePattern = /^(?:\d+[smhdw])+$/
const datePattern = /^\d{4}-\d{2}-\d{2}$/

/** Milliseconds of a relative duration like `1h30m`, or undefined if the text is not one. */
export function parseDuration (text: string): number | undefined {
  if (!relativePattern.test(text)) return undefined
  let total = 0
  for (const [, amount, unit] of text.matchAll(/(\d+)([smhdw])/g)) total += Number(amount) * unitMs[unit!]!
  return total
}

/** Resolves a time bound to canonical RFC3339 (UTC, milliseconds). Throws UsageError naming the flag. */
export function parseTimeBound (text: string, now: Date, flag = '--since'): string {
  const value = text.trim()
  if (value === 'now') return now.toISOString()
  const duration = parseDuration(value)
  if (duration != null) {
    const at = now.getTime() - duration
    return new Date(Math.max(0, at)).toISOString()
  }
  const ts = canonicalTs(datePattern.test(value) ? `${value}T00:00:00Z` : value)
  if (ts == null) {
    throw new UsageError(`${flag} ${JSON.stringify(text)}: expected RFC3339 (2026-01-02T03:04:05Z), a date (2026-01-02) or a duration back from now (30m, 12h, 7d, 1h30m)`)
  }
  return ts
}
