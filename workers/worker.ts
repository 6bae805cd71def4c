/** The one worker entry: routes each task by its tag; an unknown tag is an error, never ignored. */
import '../src/polyfill.js'
import { exportBatch, exportPush } from './export-batch.js'
import { exportSearch } from './export-search.js'
import { ingestEntries, ingestPulled, ingestPush } from './ingest.js'
import { toWorkerFailure, type Task } from './tasks.js'

export default async function run (task: Task): Promise<unknown> {
  try {
    return await route(task)
  } catch (err) {
    // Structured cloning keeps neither the name nor the flags of an error, and turns better-sqlite3's SqliteError
    // into `{ code }` without its message: send a plain record, which the pool turns back into an Error.
    throw toWorkerFailure(err)
  }
}

async function route (task: Task): Promise<unknown> {
  switch (task.tag) {
    case 'ingest-pulled': return ingestPulled(task)
    case 'ingest-push': return ingestPush(task)
    case 'ingest-entries': return ingestEntries(task)
    case 'export-batch': return exportBatch(task)
    case 'export-push': return exportPush(task)
    case 'export-search': return await exportSearch(task)
    default: throw new Error(`unknown worker task tag: ${(task as { tag?: unknown }).tag as string}`)
  }
}
