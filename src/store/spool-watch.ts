/**
 * For the long-running servers (p2p-serve, http-serve, p2p-sync --watch): drain the record spool as files arrive,
 * so a peer pulling from this device sees a command moments after it ran. fs.watch on the spool directory,
 * debounced, plus a periodic timer in case an event is missed (network filesystems, inotify limits); both unref'd.
 * A locked database is retried shortly; an error is reported once until it changes.
 */
import { watch, type FSWatcher } from 'node:fs'
import { drainSpoolFor, type SpoolDrainOutcome } from './db.js'
import { ensureSpoolDir, spoolDirOf } from './spool-files.js'
import { secondMs } from '../core/units.js'

export interface SpoolWatchInit {
  dbPath: string
  /** Wait after the first event before draining, so a burst of files goes in one transaction. @default 50 ms */
  debounceMs?: number
  /** Drain this often even without events. @default 5 s */
  intervalMs?: number
  /** Retry this soon when the database was locked. @default 250 ms */
  lockedRetryMs?: number
  /** How long one drain waits for another process's write lock. @default 100 ms */
  busyTimeoutMs?: number
}

export interface SpoolWatchComponents {
  /** Called after each drain that moved or rejected something. */
  onDrain?: (outcome: SpoolDrainOutcome) => void
  /** Called when a drain fails (once per distinct message). */
  log?: (line: string) => void
}

export interface SpoolWatcher {
  /** Drains now (also what the events and the timer call). */
  drain: () => SpoolDrainOutcome | undefined
  /** Stops watching; idempotent. */
  close: () => void
}

export function watchSpool (init: SpoolWatchInit, components: SpoolWatchComponents = {}): SpoolWatcher {
  const dir = spoolDirOf(init.dbPath)
  let closed = false
  let pending: NodeJS.Timeout | undefined
  let lastError: string | undefined
  const schedule = (delayMs: number): void => {
    if (closed || pending != null) return
    pending = setTimeout(() => { pending = undefined; drain() }, delayMs)
    pending.unref()
  }
  const drain = (): SpoolDrainOutcome | undefined => {
    if (closed) return undefined
    try {
      const outcome = drainSpoolFor(init.dbPath, { busyTimeoutMs: init.busyTimeoutMs ?? 100 })
      lastError = undefined
      if (outcome.skipped === 'locked') schedule(init.lockedRetryMs ?? 250)
      else if (outcome.inserted + outcome.ignored + outcome.rejected > 0) components.onDrain?.(outcome)
      return outcome
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err)
      if (message !== lastError) components.log?.(`warning: cannot move the record spool into the database: ${message}`)
      lastError = message
      return undefined
    }
  }
  let watcher: FSWatcher | undefined
  if (dir != null) {
    try {
      ensureSpoolDir(dir)
      watcher = watch(dir, { persistent: false }, () => schedule(init.debounceMs ?? 50))
      watcher.on('error', (err) => {
        components.log?.(`warning: stopped watching ${dir} (${err.message}); draining every ${(init.intervalMs ?? 5 * secondMs) / secondMs} s`)
        watcher?.close()
      })
    } catch (err) {
      components.log?.(`warning: cannot watch ${dir} (${(err as Error).message}); draining every ${(init.intervalMs ?? 5 * secondMs) / secondMs} s`)
    }
  }
  const timer = setInterval(drain, init.intervalMs ?? 5 * secondMs)
  timer.unref()
  return {
    drain,
    close: () => {
      if (closed) return
      closed = true
      watcher?.close()
      clearInterval(timer)
      if (pending != null) clearTimeout(pending)
    }
  }
}
