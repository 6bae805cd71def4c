/** Each worker thread keeps its own database handles, one per path, opened on first use. */
import { openDatabase, type Database } from '../src/store/db.js'

const handles = new Map<string, Database>()

export function workerDb (path: string): Database {
  let db = handles.get(path)
  if (db == null) {
    db = openDatabase(path)
    handles.set(path, db)
  }
  return db
}

/** Closes and forgets this thread's handle on `path`, if it has one (the bench ingests into many files in process). */
export function closeWorkerDb (path: string): void {
  handles.get(path)?.close()
  handles.delete(path)
}
