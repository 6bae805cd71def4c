/**
 * Where the --inspect trace goes: JSON Lines to FILE (appended, so `rr inspect FILE` can follow it live) or to
 * stderr. With a live directory, a file trace also registers itself there while it is written, so
 * `rr inspect --attach` finds the running sync. Only created when --inspect is given, so it costs nothing off.
 */
import { createWriteStream, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync, type WriteStream } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import type { InspectionEvent } from 'xstate'
import { processIsGone } from '../core/pid.js'
import { toTraceRecord } from './trace.js'
import { jsonForTerminal } from '../core/escape.js'
import { foreignOwner, tighten } from '../config/private-files.js'

export { statePaths, toTraceRecord, type TraceRecord } from './trace.js'

export interface InspectSinkOptions {
  /**
   * A directory where a file trace announces itself while it is written (`<pid>.json`), for
   * `rr inspect --attach`. @default none (not announced)
   */
  liveDir?: string
}

export interface InspectSink {
  observe: (event: InspectionEvent) => void
  close: () => Promise<void>
}

/** What a running sync writes into the live directory. */
export interface LiveTrace {
  pid: number
  /** Absolute path of the trace file. */
  trace: string
  startedAt: string
}

/** The live directory that belongs to a database: beside it, so every --db-path has its own. */
export function liveTraceDir (dbPath: string): string {
  return join(dirname(resolve(dbPath)), 'inspect-live')
}

/** Traces announced in `liveDir` by processes still running, newest first. */
export function findLiveTraces (liveDir: string): LiveTrace[] {
  // Beside a database in /tmp, another user may have made the directory or a file in it, naming a trace of theirs.
  if (foreignOwner(liveDir) != null) return []
  let names: string[]
  try {
    names = readdirSync(liveDir).filter((n) => n.endsWith('.json'))
  } catch {
    return []
  }
  const found: LiveTrace[] = []
  for (const name of names) {
    try {
      if (foreignOwner(join(liveDir, name)) != null) continue
      const live = JSON.parse(readFileSync(join(liveDir, name), 'utf8')) as LiveTrace
      if (typeof live.pid === 'number' && typeof live.trace === 'string' && !processIsGone(live.pid)) found.push(live)
    } catch {
      // torn or foreign file
    }
  }
  return found.sort((a, b) => b.startedAt.localeCompare(a.startedAt))
}

/** Writes the trace to FILE, or to stderr for '-' / ''. */
export function inspectSink (target: string, options: InspectSinkOptions = {}): InspectSink {
  const toStderr = target === '' || target === '-'
  const stream: WriteStream | NodeJS.WriteStream = toStderr ? process.stderr : createWriteStream(target, { flags: 'a', mode: 0o600 })
  let announced: string | undefined
  if (!toStderr && options.liveDir != null) {
    try {
      mkdirSync(options.liveDir, { recursive: true, mode: 0o700 })
      if (foreignOwner(options.liveDir) != null) throw new Error('another user\'s directory')
      tighten(options.liveDir)
      announced = join(options.liveDir, `${process.pid}.json`)
      const live: LiveTrace = { pid: process.pid, trace: resolve(target), startedAt: new Date().toISOString() }
      writeFileSync(announced, `${JSON.stringify(live)}\n`)
    } catch {
      announced = undefined // attaching is a convenience; the trace itself still goes to FILE
    }
  }
  return {
    observe: (event) => {
      const record = toTraceRecord(event)
      // jsonForTerminal: the same JSON, with no raw control character for a terminal when FILE is '-' (stderr).
      if (record != null) stream.write(`${jsonForTerminal(record)}\n`)
    },
    close: async () => {
      if (announced != null) rmSync(announced, { force: true })
      if (toStderr) return
      await new Promise<void>((resolve) => (stream as WriteStream).end(resolve))
    }
  }
}
