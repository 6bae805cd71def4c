/**
 * `rr history`: every entry (no dedup), newest first, as text (time, two spaces, the command; continuation lines
 * of a multi-line command indented under it) or JSON Lines (one whole entry per line). Streams with backpressure,
 * and stops quietly when the reader goes away (`rr history | head`).
 */
import { once } from 'node:events'
import type { Entry } from '../core/entry.js'
import { jsonForTerminal, showControls } from '../core/escape.js'
import { iterateHistory, openForSearch, type FeedFilters } from '../store/search.js'
import { UsageError } from './errors.js'
import { formatLocal } from './time.js'

export type HistoryFormat = 'text' | 'jsonl'

export function parseFormat (value: string | undefined): HistoryFormat {
  if (value == null || value === 'text') return 'text'
  if (value === 'jsonl' || value === 'json') return 'jsonl'
  throw new UsageError(`--format must be text or jsonl, got ${JSON.stringify(value)}`)
}

/** One rendered entry, with its line end: text in local time (UTC with `utc`), jsonl as stored. Pure. */
export function formatEntry (entry: Entry, format: HistoryFormat, utc = false): string {
  if (format === 'jsonl') return jsonForTerminal(entry) + '\n'
  const time = formatLocal(entry.ts, utc)
  const indent = ' '.repeat(time.length + 2)
  return `${time}  ${showControls(entry.cmd).replace(/\n/g, `\n${indent}`)}\n`
}

export interface HistoryInit {
  dbPath: string
  filters: FeedFilters
  format: HistoryFormat
  /** 0 = all. */
  limit: number
  /** Text times in UTC instead of local time. @default false */
  utc?: boolean
}

const flushChars = 64 * 1024

/** Writes the history to `out`; resolves with the number of entries written. */
export async function writeHistory (init: HistoryInit, out: NodeJS.WritableStream): Promise<number> {
  const db = openForSearch(init.dbPath, { drainSpool: true })
  if (db == null) return 0
  let broken = false
  const onError = (): void => { broken = true }
  out.on('error', onError)
  let count = 0
  try {
    let buffer = ''
    for (const entry of iterateHistory(db, init.filters, init.limit)) {
      buffer += formatEntry(entry, init.format, init.utc === true)
      count++
      if (buffer.length >= flushChars) {
        const ok = out.write(buffer)
        buffer = ''
        // events.once removes its error listener when drain comes: a listener per wait would pile up (20k entries
        // through a pipe wait ~100 times, past MaxListeners' 10).
        if (!ok) await once(out, 'drain').catch(() => {})
        if (broken) break
      }
    }
    if (buffer !== '' && !broken) await new Promise<void>((resolve) => out.write(buffer, () => resolve()))
    return count
  } finally {
    out.off('error', onError)
    db.close()
  }
}
