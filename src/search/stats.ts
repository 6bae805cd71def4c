/** `rr stats`: the aggregates from the store, rendered as text or JSON. Rendering is pure. */
import { showControls } from '../core/escape.js'
import { collectStats, openForSearch, type HistoryStats } from '../store/search.js'
import { formatLocal } from './time.js'

const emptyStats: HistoryStats = { total: 0, failed: 0, failureRate: 0, firstTs: null, lastTs: null, devices: [], topCommands: [], topDirectories: [] }

export function readStats (dbPath: string, top = 10): HistoryStats {
  const db = openForSearch(dbPath, { drainSpool: true })
  if (db == null) return emptyStats
  try {
    return collectStats(db, top)
  } finally {
    db.close()
  }
}

function oneLine (cmd: string, max = 60): string {
  const flat = showControls(cmd.replace(/\s*\n\s*/g, ' ⏎ ')).replace(/\t/g, ' ')
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat
}

function percent (rate: number): string {
  return `${(rate * 100).toFixed(1)}%`
}

/** Text for a person: times in local time (UTC with `utc`). Pure. */
export function renderStats (stats: HistoryStats, utc = false): string {
  const time = (ts: string): string => formatLocal(ts, utc)
  const lines: string[] = []
  lines.push(`total: ${stats.total} entries${stats.firstTs != null ? ` (${time(stats.firstTs)} … ${stats.lastTs != null ? time(stats.lastTs) : ''})` : ''}`)
  lines.push(`failure rate: ${percent(stats.failureRate)} (${stats.failed} with a non-zero exit code)`)
  lines.push('', 'per device:')
  for (const d of stats.devices) {
    const notes = [`newest ${time(d.lastTs)}`]
    if (d.unverified > 0) notes.push(`${d.unverified} unverified`)
    if (d.keys > 1) notes.push(`signed by ${d.keys} different keys: this name is claimed by more than one device`)
    lines.push(`  ${String(d.count).padStart(9)}  ${showControls(d.deviceId)}  (${notes.join('; ')})`)
  }
  if (stats.devices.length === 0) lines.push('  (none)')
  lines.push('', 'top commands:')
  for (const c of stats.topCommands) lines.push(`  ${String(c.count).padStart(9)}  ${oneLine(c.cmd)}`)
  if (stats.topCommands.length === 0) lines.push('  (none)')
  lines.push('', 'busiest directories:')
  for (const c of stats.topDirectories) lines.push(`  ${String(c.count).padStart(9)}  ${showControls(c.cwd)}`)
  if (stats.topDirectories.length === 0) lines.push('  (none recorded)')
  return lines.join('\n') + '\n'
}
