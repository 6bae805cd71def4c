/**
 * The ctrl+r feed, streamed from a worker thread into a port: distinct commands newest first, each at its most
 * recent use, packed as NUL-terminated records in transferred buffers, then `{ end, rows }`.
 * The head (first screen) was read on the main thread; this continues after it from the same source (see
 * src/search/feed.ts): command_latest rows go out as they come, entries rows are deduplicated here.
 */
import { Distinct, encodeRaw, type FeedMessage, type FeedQuery } from '../src/search/feed.js'
import { showControls } from '../src/core/escape.js'
import type { Database } from '../src/store/db.js'
import { formatRecord } from '../src/search/rows.js'
import { iterateFeedRows, openForSearch } from '../src/store/search.js'
import type { ExportSearchResult, ExportSearchTask } from './tasks.js'

const defaultChunkRows = 8192
/** The first chunk is small so rows keep flowing while the scan warms up. */
const firstChunkRows = 1024

/**
 * Read-only handles, one per path, tuned for reading: a search never migrates a database (it would hold the write
 * lock for the backfill while ctrl+r waits) and reads the source the head chose.
 */
const readers = new Map<string, Database>()

function reader (path: string): Database | undefined {
  let db = readers.get(path)
  if (db == null) {
    db = openForSearch(path)
    if (db != null) readers.set(path, db)
  }
  return db
}

export async function exportSearch (task: ExportSearchTask): Promise<ExportSearchResult> {
  const query = task.query as FeedQuery
  const port = task.port
  let rows = 0
  try {
    const db = query.limit > 0 ? reader(task.dbPath) : undefined
    const source = query.source ?? 'entries'
    const distinct = source === 'entries' ? new Distinct(query.exclude ?? []) : undefined
    const chunkRows = query.chunkRows ?? defaultChunkRows
    let pending: string[] = []
    let threshold = Math.min(firstChunkRows, chunkRows)
    const flush = (): void => {
      if (pending.length === 0) return
      const chunk = encodeRaw(pending)
      port.postMessage({ chunk } satisfies FeedMessage, [chunk.buffer as ArrayBuffer])
      pending = []
      threshold = chunkRows
    }
    if (db != null) {
      for (const row of iterateFeedRows(db, query.filters, query.after, source)) {
        if (distinct != null && !distinct.offer(row[0])) continue
        pending.push(query.view != null ? formatRecord(row, query.view) : showControls(row[0]))
        rows++
        if (rows >= query.limit) break
        if (pending.length >= threshold) flush()
      }
    }
    flush()
    port.postMessage({ end: true, rows } satisfies FeedMessage)
    return { rows }
  } finally {
    port.close()
  }
}
