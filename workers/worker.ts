/**
 * The one worker entry: routes each task by its tag; an unknown tag is an error, never ignored.
 * Task modules load on their first task (the search export does not pay for the sync codecs, nor ingest for
 * the search code); later tasks reuse the loaded module.
 */
import '../src/polyfill.js'
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
    case 'ingest-pulled': return (await import('./ingest.js')).ingestPulled(task)
    case 'ingest-push': return (await import('./ingest.js')).ingestPush(task)
    case 'ingest-entries': return (await import('./ingest.js')).ingestEntries(task)
    case 'export-batch': return (await import('./export-batch.js')).exportBatch(task)
    case 'export-push': return (await import('./export-batch.js')).exportPush(task)
    case 'sign-pending': return (await import('./export-batch.js')).signAhead(task)
    case 'export-tombstones': return (await import('./tombstones.js')).exportTombstones(task)
    case 'ingest-tombstones-pulled': return (await import('./tombstones.js')).ingestTombstonesPulled(task)
    case 'ingest-tombstones-push': return (await import('./tombstones.js')).ingestTombstonesPush(task)
    default: throw new Error(`unknown worker task tag: ${(task as { tag?: unknown }).tag as string}`)
  }
}
