/**
 * Times as people write and read them. Pure: `now` is passed in; local means the process's time zone (TZ).
 *
 * `--since` / `--until` accept RFC3339 (`2026-01-02T03:04:05Z`), a local date (`2026-01-02`, its midnight) or local
 * date and time (`2026-11-20 15:00`, `2026-11-20T15:00:30`), `now`, `today` and `yesterday` (their local midnight),
 * a weekday (`monday`, `mon`: its last midnight, today's when today is that day), or a duration back from now
 * (`30s`, `30m`, `12h`, `7d`, `2w`, combined like `1h30m`).
 */
import { canonicalTs } from '../core/entry.js'
import { UsageError } from './errors.js'
import { secondMs, minuteMs, hourMs, dayMs } from '../core/units.js'
import { showControls } from '../core/escape.js'

const week = 7 * dayMs

const unitMs: Record<string, number> = { s: secondMs, m: minuteMs, h: hourMs, d: dayMs, w: week }
const relativePattern = /^(?:\d+[smhdw])+$/
const localPattern = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2}))?)?$/
const weekdays = ['sunday', 'monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday']

/** Milliseconds of a relative duration like `1h30m`, or undefined if the text is not one. */
export function parseDuration (text: string): number | undefined {
  if (!relativePattern.test(text)) return undefined
  let total = 0
  for (const [, amount, unit] of text.matchAll(/(\d+)([smhdw])/g)) total += Number(amount) * unitMs[unit!]!
  return total
}

function localMidnight (now: Date, daysBack: number): Date {
  return new Date(now.getFullYear(), now.getMonth(), now.getDate() - daysBack)
}

/** A local date or date and time, or undefined (also for impossible dates such as 2026-02-31). */
function parseLocal (text: string): Date | undefined {
  const m = localPattern.exec(text)
  if (m == null) return undefined
  const [y, mo, d, h, mi, s] = m.slice(1).map((v) => (v == null ? 0 : Number(v))) as [number, number, number, number, number, number]
  const date = new Date(y, mo - 1, d, h, mi, s)
  if (date.getFullYear() !== y || date.getMonth() !== mo - 1 || date.getDate() !== d || h > 23 || mi > 59 || s > 59) return undefined
  return date
}

/** Resolves a time bound to canonical RFC3339 (UTC, milliseconds). Throws UsageError naming the flag. */
export function parseTimeBound (text: string, now: Date, flag = '--since'): string {
  const value = text.trim()
  const word = value.toLowerCase()
  if (word === 'now') return now.toISOString()
  if (word === 'today') return localMidnight(now, 0).toISOString()
  if (word === 'yesterday') return localMidnight(now, 1).toISOString()
  const weekday = word.length >= 3 ? weekdays.findIndex((name) => name.startsWith(word)) : -1
  if (weekday !== -1) return localMidnight(now, (now.getDay() - weekday + 7) % 7).toISOString()
  const duration = parseDuration(value)
  if (duration != null) return new Date(Math.max(0, now.getTime() - duration)).toISOString()
  const local = parseLocal(value)
  const ts = local != null ? canonicalTs(local.toISOString()) : canonicalTs(value)
  if (ts == null) {
    throw new UsageError(`${flag} ${JSON.stringify(text)}: expected RFC3339 (2026-01-02T03:04:05Z), a local date or time (2026-01-02, 2026-11-20 15:00), today, yesterday, a weekday (monday), or a duration back from now (30m, 12h, 7d, 1h30m)`)
  }
  return ts
}

function pad (n: number, width = 2): string {
  return String(n).padStart(width, '0')
}

/**
 * A stored ts (canonical UTC) as a person reads it: `2026-11-20 15:00:01 +01:00` in local time, or
 * `2026-11-20 14:00:01Z` with utc. Milliseconds are left out.
 */
export function formatLocal (ts: string, utc = false): string {
  if (utc) return showControls(`${ts.slice(0, 10)} ${ts.slice(11, 19)}Z`)
  const date = new Date(ts)
  // Not a stamp rustory stores (a hand-edited database): shown as it is, its controls as text.
  if (Number.isNaN(date.getTime())) return showControls(ts)
  const offset = -date.getTimezoneOffset()
  const sign = offset < 0 ? '-' : '+'
  const abs = Math.abs(offset)
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())} ${sign}${pad(Math.floor(abs / 60))}:${pad(abs % 60)}`
}
