/** Serializes pages of entries for the wire in a worker thread, trimmed to the response cap. */
import { entryFields } from '../src/core/entry.js'
import { workerDb } from './db-cache.js'
import type { ExportBatchResult, ExportBatchTask, ExportPushResult, ExportPushTask } from './tasks.js'

const columns = entryFields.join(', ')
/** Room for the envelope around the entries. */
const envelopeBytes = 64

interface Page {
  parts: string[]
  bytes: number
  lastSeq: number
  tooLarge?: { entry_id: string, bytes: number }
}

function collect (rows: Iterable<Record<string, unknown>>, maxBytes: number): Page {
  const page: Page = { parts: [], bytes: envelopeBytes, lastSeq: 0 }
  for (const row of rows) {
    const seq = row.ingest_seq as number
    delete row.ingest_seq
    const json = JSON.stringify(row)
    const size = Buffer.byteLength(json) + 1
    if (page.bytes + size > maxBytes) {
      if (page.parts.length === 0) page.tooLarge = { entry_id: row.entry_id as string, bytes: size }
      break
    }
    page.parts.push(json)
    page.bytes += size
    page.lastSeq = seq
  }
  return page
}

export function exportBatch (task: ExportBatchTask): ExportBatchResult {
  const rows = workerDb(task.dbPath)
    .prepare(`SELECT ingest_seq, ${columns} FROM entries WHERE ingest_seq > ? ORDER BY ingest_seq LIMIT ?`)
    .iterate(task.cursor, task.limit) as Iterable<Record<string, unknown>>
  const page = collect(rows, task.maxBytes)
  const next = page.parts.length > 0 ? page.lastSeq : null
  const payload = Buffer.from(`{"entries":[${page.parts.join(',')}],"next_cursor":${next === null ? 'null' : next}}`)
  return { payload, count: page.parts.length, ...(page.tooLarge != null ? { tooLarge: page.tooLarge } : {}) }
}

export function exportPush (task: ExportPushTask): ExportPushResult {
  const rows = workerDb(task.dbPath)
    .prepare(`SELECT ingest_seq, ${columns} FROM entries WHERE device_id = ? AND ingest_seq > ? ORDER BY ingest_seq LIMIT ?`)
    .iterate(task.deviceId, task.afterSeq, task.limit) as Iterable<Record<string, unknown>>
  const page = collect(rows, task.maxBytes)
  const payload = Buffer.from(`{"entries":[${page.parts.join(',')}]}`)
  return { payload, count: page.parts.length, lastSeq: page.lastSeq, ...(page.tooLarge != null ? { tooLarge: page.tooLarge } : {}) }
}
