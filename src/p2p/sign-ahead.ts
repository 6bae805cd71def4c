/**
 * Signing ahead of the pulls: a serving device signs the entries recorded or imported here (trust 2) in the
 * background, when it starts serving and whenever new ones show up, so that a pull does not wait for it. Signed
 * inside the pull, the first pull after a 200k-entry import ran at a third of the speed (npm run bench, section
 * signing). Serving still signs whatever is left first (signPending in the export), so nothing goes out unsigned.
 * The same task gives rows linked to a chunk with no place in it yet their place (placeChunkRows), so that 4.0.0
 * serves them by runs: a history signed before schema 14 is placed once, in the background, and rows taken
 * first-hand since the last task after it.
 */
import Database, { type Statement } from 'better-sqlite3'
import type { EntrySigner } from '../core/signature.js'
import { trust } from '../store/entries.js'
import type { WorkerPool } from '../../workers/pool.js'

export interface SignAheadInit {
  dbPath: string
  pool: WorkerPool
  signer: EntrySigner
  /** Look for unsigned entries this often (an indexed probe on the main thread). @default 5 s */
  intervalMs?: number
  /** Rows per transaction: a pull arriving meanwhile waits for one chunk at most. @default 2000 */
  chunkRows?: number
  log?: (line: string) => void
}

/** Starts signing ahead; the returned function stops it (a chunk under way finishes in its worker). */
export function startSignAhead (init: SignAheadInit): () => void {
  let db: Database.Database | undefined
  let probe: Statement | undefined
  let running = false
  let stopped = false
  let lastError: string | undefined
  let newest: Statement | undefined
  /** Every row up to this ingest_seq has been looked at for a place in its chunk (placeChunkRows). */
  let placedUpTo = 0
  const pending = (): boolean => {
    db ??= new Database(init.dbPath, { readonly: true, fileMustExist: true })
    probe ??= db.prepare(`SELECT 1 FROM entries WHERE trust = ${trust.localUnsigned} LIMIT 1`)
    if (probe.get() != null) return true
    // Rows stored since the last task (pulled, pushed, or written by an older release on this file) may be linked to
    // a chunk with no place in it yet; the first task after start looks at every row once.
    newest ??= db.prepare('SELECT COALESCE(MAX(ingest_seq), 0) FROM entries').pluck()
    return (newest.get() as number) > placedUpTo
  }
  const report = (err: unknown): void => {
    const message = err instanceof Error ? err.message : String(err)
    if (!stopped && !init.pool.closed && message !== lastError) init.log?.(`warning: cannot sign this device's entries ahead of serving them: ${message}`)
    lastError = message
  }
  const tick = (): void => {
    if (running || stopped || init.pool.closed) return
    try {
      if (!pending()) return
    } catch (err) {
      report(err)
      return
    }
    running = true
    init.pool.run({ tag: 'sign-pending', dbPath: init.dbPath, signer: init.signer, chunkRows: init.chunkRows ?? 2000, placedUpTo })
      .then((result) => {
        placedUpTo = result.placedUpTo
        lastError = undefined
      }, report)
      .finally(() => { running = false })
  }
  tick()
  const timer = setInterval(tick, init.intervalMs ?? 5000)
  timer.unref()
  return () => {
    stopped = true
    clearInterval(timer)
    db?.close()
  }
}
