/**
 * `rr import bash|zsh|fish`: stream a history file, turn each command into an entry with a deterministic id, and
 * insert batches through the worker pool (task 'ingest-entries') while the next batch is parsed. Memory stays flat:
 * one read chunk, one batch being built, at most `maxInFlight` batches being inserted.
 *
 * Imported entries: device_id/user_id/hostname from settings, cwd '' (unknown), exit_code 0, duration from zsh's
 * extended history where known. Untimed commands (plain bash/zsh) are dated back from the file's mtime by one
 * millisecond per byte that follows them, so they keep their order and sit just before the file was last written.
 */
import { stat } from 'node:fs/promises'
import { truncateCmd, type Entry } from '../core/entry.js'
import { skipReason } from '../core/filters.js'
import type { WorkerPool } from '../../workers/pool.js'
import { ImportIds } from './ids.js'
import { readLines } from './lines.js'
import { parserFor, type ParsedCommand, type Shell } from './parsers.js'
import { RustoryError } from '../core/errors.js'

export class ImportError extends RustoryError {
  static override readonly name = 'ImportError'
  override readonly name = 'ImportError'
  override readonly exitCode = 1
}

export interface ImportInit {
  shell: Shell
  path: string
  dbPath: string
  deviceId: string
  userId: string
  hostname: string
  version: string
  /** @default true */
  secretsFilter?: boolean
  ignoreRegex?: RegExp
  /** Entries per insert task. @default 5000 */
  batchSize?: number
  /** Batches being inserted at once; more waits. @default 2 */
  maxInFlight?: number
}

export interface ImportProgress {
  bytesRead: number
  totalBytes: number
  entries: number
}

export interface ImportSummary {
  path: string
  shell: Shell
  lines: number
  /** Commands read from the file. */
  read: number
  inserted: number
  alreadyPresent: number
  skipped: number
  /** Skips by reason: empty, nul_byte, ignore_regex, secret_<kind>. */
  skippedReasons: Record<string, number>
  /** Stored truncated (over 64 KiB). */
  truncated: number
  /** Had bytes that were not UTF-8 (kept, read as CP1252). */
  repaired: number
  elapsedMs: number
}

export interface ImportComponents {
  pool: WorkerPool
  onProgress?: (progress: ImportProgress) => void
}

const second = 1000

export async function importHistory (init: ImportInit, components: ImportComponents): Promise<ImportSummary> {
  const started = Date.now()
  let info
  try {
    info = await stat(init.path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    throw new ImportError(code === 'ENOENT'
      ? `${init.shell} history file not found: ${init.path} (give its location with --path FILE)`
      : `cannot read ${init.path}: ${(err as Error).message}`)
  }
  if (!info.isFile()) throw new ImportError(`${init.path} is not a file (give the history file with --path FILE)`)
  const totalBytes = info.size
  const mtimeMs = Math.floor(info.mtimeMs)
  const batchSize = init.batchSize ?? 5000
  const maxInFlight = init.maxInFlight ?? 2
  const ids = new ImportIds(init.deviceId, init.shell)
  const summary: ImportSummary = {
    path: init.path,
    shell: init.shell,
    lines: 0,
    read: 0,
    inserted: 0,
    alreadyPresent: 0,
    skipped: 0,
    skippedReasons: {},
    truncated: 0,
    repaired: 0,
    elapsedMs: 0
  }
  const skip = (reason: string): void => {
    summary.skipped++
    summary.skippedReasons[reason] = (summary.skippedReasons[reason] ?? 0) + 1
  }

  let batch: Entry[] = []
  const inFlight: Array<Promise<void>> = []
  const send = async (): Promise<void> => {
    if (batch.length === 0) return
    const entries = batch
    batch = []
    const task = components.pool.run({ tag: 'ingest-entries', dbPath: init.dbPath, entries }).then((r) => {
      summary.inserted += r.inserted
      summary.alreadyPresent += r.ignored
    })
    inFlight.push(task)
    task.catch(() => {}) // awaited below; this only keeps an early failure from being "unhandled"
    if (inFlight.length >= maxInFlight) await inFlight.shift()
  }

  // Same-second order: history files time commands to the second, so the n-th command of one second (in file order)
  // gets n ms: the list shows them in the order they were typed (ts, not the random entry_id, decides).
  let lastSec: number | undefined
  let sameSec = 0
  const onCommand = (parsed: ParsedCommand): void => {
    summary.read++
    if (parsed.repaired) summary.repaired++
    const cmd = parsed.cmd.endsWith('\n') ? parsed.cmd.replace(/\n+$/, '') : parsed.cmd
    if (cmd.trim() === '') { skip('empty'); return }
    if (cmd.includes('\u0000')) { skip('nul_byte'); return }
    // A history file already went through the shell's own ignorespace; a leading space is not a reason here.
    const reason = skipReason(cmd.trimStart(), {
      secretsFilter: init.secretsFilter ?? true,
      ...(init.ignoreRegex != null ? { ignoreRegex: init.ignoreRegex } : {})
    })
    if (reason != null) { skip(reason); return }
    const stored = truncateCmd(cmd)
    if (stored !== cmd || parsed.clipped) summary.truncated++
    if (parsed.epochSec != null) {
      sameSec = parsed.epochSec === lastSec ? sameSec + 1 : 0
      lastSec = parsed.epochSec
    }
    const tsMs = parsed.epochSec != null ? parsed.epochSec * second + Math.min(sameSec, 999) : Math.max(0, mtimeMs - (totalBytes - parsed.end))
    batch.push({
      entry_id: ids.next(cmd, parsed.epochSec),
      device_id: init.deviceId,
      user_id: init.userId,
      ts: new Date(tsMs).toISOString(),
      cmd: stored,
      cwd: '',
      exit_code: 0,
      duration_ms: parsed.durationMs ?? 0,
      shell: init.shell,
      hostname: init.hostname,
      version: init.version
    })
  }

  const parser = parserFor(init.shell, onCommand)
  try {
    for await (const lines of readLines(init.path)) {
      for (const line of lines) {
        summary.lines++
        parser.line(line.bytes, line.end)
      }
      if (batch.length >= batchSize) await send()
      components.onProgress?.({ bytesRead: lines[lines.length - 1]!.end, totalBytes, entries: summary.read })
    }
    parser.finish()
    await send()
  } finally {
    await Promise.all(inFlight)
  }
  summary.elapsedMs = Date.now() - started
  return summary
}

/** The closing report. Pure. */
export function renderSummary (s: ImportSummary): string {
  const reasons = Object.entries(s.skippedReasons).sort((a, b) => b[1] - a[1]).map(([r, n]) => `${r}: ${n}`).join(', ')
  const rate = s.elapsedMs > 0 ? Math.round(s.lines / (s.elapsedMs / second)) : s.lines
  const lines = [
    `imported ${s.shell} history from ${s.path}`,
    `  read:            ${s.read} commands (${s.lines} lines, ${(s.elapsedMs / second).toFixed(1)} s, ${rate} lines/s)`,
    `  inserted:        ${s.inserted}`,
    `  already present: ${s.alreadyPresent}`,
    `  skipped:         ${s.skipped}${reasons !== '' ? ` (${reasons})` : ''}`
  ]
  if (s.truncated > 0) lines.push(`  truncated:       ${s.truncated} (longer than 64 KiB, stored with a marker)`)
  if (s.repaired > 0) lines.push(`  not UTF-8:       ${s.repaired} (invalid bytes kept, read as Windows-1252)`)
  return lines.join('\n') + '\n'
}

/** A one-line progress bar for a terminal. Pure. */
export function renderProgress (p: ImportProgress, width = 30): string {
  const ratio = p.totalBytes > 0 ? Math.min(1, p.bytesRead / p.totalBytes) : 1
  const filled = Math.round(ratio * width)
  return `\r[${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${(ratio * 100).toFixed(0).padStart(3)}%  ${p.entries} commands`
}
