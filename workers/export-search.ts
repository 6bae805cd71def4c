/**
 * The ctrl+r feed, streamed from a worker thread into a port: distinct commands newest first, each at its most
 * recent use, packed as NUL-terminated records in transferred buffers, then `{ end, rows }`.
 * The head (first screen) was read on the main thread; this continues after it (see src/search/feed.ts).
 */
import { Distinct, encodeRecords, type FeedMessage, type FeedQuery } from '../src/search/feed.js'
import { iterateFeedCmds, tuneForReading } from '../src/store/search.js'
import { workerDb } from './db-cache.js'
import type { ExportSearchResult, ExportSearchTask } from './tasks.js'

const defaultChunkRows = 8192
/** The first chunk is small so rows keep flowing while the scan warms up. */
const firstChunkRows = 1024

const tuned = new WeakSet<object>()

export async function exportSearch (task: ExportSearchTask): Promise<ExportSearchResult> {
  const query = task.query as FeedQuery
  const port = task.port
  let rows = 0
  try {
    const db = workerDb(task.dbPath)
    if (!tuned.has(db)) { tuneForReading(db); tuned.add(db) }
    const distinct = new Distinct(query.exclude ?? [])
    const chunkRows = query.chunkRows ?? defaultChunkRows
    let pending: string[] = []
    let threshold = Math.min(firstChunkRows, chunkRows)
    const flush = (): void => {
      if (pending.length === 0) return
      const chunk = encodeRecords(pending)
      port.postMessage({ chunk } satisfies FeedMessage, [chunk.buffer as ArrayBuffer])
      pending = []
      threshold = chunkRows
    }
    if (query.limit > 0) {
      for (const cmd of iterateFeedCmds(db, query.filters, query.after)) {
        if (!distinct.offer(cmd)) continue
        pending.push(cmd)
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
