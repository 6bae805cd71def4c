/**
 * `rr inspect` as one call: pick the trace (FILE, or the running sync's with --attach), start the page server,
 * print its address, and serve until SIGINT/SIGTERM.
 */
import { existsSync } from 'node:fs'
import { resolve } from 'node:path'
import { findLiveTraces, liveTraceDir } from './sink.js'
import { startInspector } from './server.js'
import { RustoryError } from '../core/errors.js'
import { stopSignal } from '../lifecycle/stop-signal.js'

export class InspectError extends RustoryError {
  static override readonly name = 'InspectError'
  override readonly name = 'InspectError'
}

export interface InspectRunInit {
  file?: string
  attach: boolean
  port: number
  /** The database whose running syncs --attach looks for. */
  dbPath: string
}

/** Which trace file to show. */
export function chooseTrace (init: Pick<InspectRunInit, 'file' | 'attach' | 'dbPath'>): { file: string, note?: string } {
  if (init.file != null && init.attach) throw new InspectError('give a trace FILE or --attach, not both')
  if (init.file != null) {
    const file = resolve(init.file)
    return existsSync(file) ? { file } : { file, note: `${file} does not exist yet; waiting for it to be written` }
  }
  if (!init.attach) throw new InspectError('give a trace FILE (written by `rr p2p-sync --inspect=FILE`), or --attach to a running `rr p2p-sync --watch --inspect=FILE`')
  const dir = liveTraceDir(init.dbPath)
  const live = findLiveTraces(dir)
  if (live.length === 0) {
    throw new InspectError(`no running sync is writing a trace for ${resolve(init.dbPath)}: start one with \`rr p2p-sync --watch --inspect=FILE\` (same --db-path), or open a saved trace with \`rr inspect FILE\``)
  }
  const chosen = live[0]!
  return { file: chosen.trace, note: `attached to rr p2p-sync pid ${chosen.pid}: ${chosen.trace}${live.length > 1 ? ` (newest of ${live.length} running)` : ''}` }
}

export async function runInspect (init: InspectRunInit, io: { out: (line: string) => void, err: (line: string) => void }): Promise<void> {
  const stop = stopSignal()
  const { file, note } = chooseTrace(init)
  if (note != null) io.err(note)
  const inspector = await startInspector({ file, port: init.port }).catch((err: NodeJS.ErrnoException) => {
    if (err.code === 'EADDRINUSE') throw new InspectError(`port ${init.port} on 127.0.0.1 is in use: choose another with --port (0 picks a free one)`)
    throw err
  })
  io.out(`inspect: ${inspector.url}`)
  await stop.until(inspector.close)
}
