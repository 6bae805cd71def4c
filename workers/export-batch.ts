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

/** One entry as JSON, built from a raw row (columns in entryFields order) without intermediate objects. */
function entryJson (row: unknown[]): string {
  const q = JSON.stringify
  return `{"entry_id":${q(row[0])},"device_id":${q(row[1])},"user_id":${q(row[2])},"ts":${q(row[3])},"cmd":${q(row[4])},` +
    `"cwd":${q(row[5])},"exit_code":${row[6] as number},"duration_ms":${row[7] as number},"shell":${q(row[8])},"hostname":${q(row[9])},"version":${q(row[10])}}`
}

function collect (rows: Iterable<unknown[]>, maxBytes: number): Page {
  const page: Page = { parts: [], bytes: envelopeBytes, lastSeq: 0 }
  for (const row of rows) {
    const json = entryJson(row)
    // UTF-8 is at most 3 bytes per UTF-16 unit: count exactly only when it could matter.
    const size = (json.length * 3 + page.bytes > maxBytes ? Buffer.byteLength(json) : json.length) + 1
    if (page.bytes + size > maxBytes) {
      if (page.parts.length === 0) page.tooLarge = { entry_id: row[0] as string, bytes: Buffer.byteLength(json) }
      break
    }
    page.parts.push(json)
    page.bytes += size
    page.lastSeq = row[11] as number
  }
  return page
}

export function exportBatch (task: ExportBatchTask): ExportBatchResult {
  const rows = workerDb(task.dbPath)
    .prepare(`SELECT ${columns}, ingest_seq FROM entries WHERE ingest_seq > ? ORDER BY ingest_seq LIMIT ?`)
    .raw().iterate(task.cursor, task.limit) as Iterable<unknown[]>
  const page = collect(rows, task.maxBytes)
  const next = page.parts.length > 0 ? page.lastSeq : null
  const payload = Buffer.from(`{"entries":[${page.parts.join(',')}],"next_cursor":${next === null ? 'null' : next}}`)
  return { payload, count: page.parts.length, ...(page.tooLarge != null ? { tooLarge: page.tooLarge } : {}) }
}

export function exportPush (task: ExportPushTask): ExportPushResult {
  const rows = workerDb(task.dbPath)
    .prepare(`SELECT ${columns}, ingest_seq FROM entries WHERE device_id = ? AND ingest_seq > ? ORDER BY ingest_seq LIMIT ?`)
    .raw().iterate(task.deviceId, task.afterSeq, task.limit) as Iterable<unknown[]>
  const page = collect(rows, task.maxBytes)
  const payload = Buffer.from(`{"entries":[${page.parts.join(',')}]}`)
  return { payload, count: page.parts.length, lastSeq: page.lastSeq, ...(page.tooLarge != null ? { tooLarge: page.tooLarge } : {}) }
}
