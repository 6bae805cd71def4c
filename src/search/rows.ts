/**
 * What a ctrl+r row and its preview show, and how fzf gets them. Pure.
 *
 * Each fzf record is `entry_id TAB preview TAB row TAB command NUL`. fzf shows fields 3.. (the row, then the command:
 * `--with-nth=3..`) and matches field 2 of what it shows, the command, only (`--nth=2..`). The preview is one line
 * with its lines joined by US (\x1f): the preview command turns them back into lines, so moving the cursor starts
 * no rr process. Enter prints the whole record; selectedCommand takes the command back out of it.
 */
import { unknownExitCode } from '../core/entry.js'
import { showControls } from '../core/escape.js'
import type { FeedRow } from '../store/search.js'
import { formatLocal } from './time.js'
import { secondMs, minuteMs, hourMs, dayMs } from '../core/units.js'

/** Where ctrl+r runs: what a row compares against (only what differs from here is shown). Plain data for a worker. */
export interface RowView {
  /** Unix ms the ages are measured from. */
  nowMs: number
  cwd: string
  hostname: string
  /** Shown as ~ in directories. */
  home: string
  /** Print times in UTC instead of local time. @default false */
  utc?: boolean
}

/** The field separator fzf is given (`--delimiter`). */
export const fieldSeparator = '\t'
const previewLineSeparator = '\x1f'
/** Columns the host/directory part of a row may take. */
const maxWhere = 24

/** "3s", "12m", "5h", "4d", "3w", "5mo", "4y". */
export function formatAgo (ms: number): string {
  const d = Math.max(0, ms)
  if (d < minuteMs) return `${Math.floor(d / secondMs)}s`
  if (d < hourMs) return `${Math.floor(d / minuteMs)}m`
  if (d < 2 * dayMs) return `${Math.floor(d / hourMs)}h`
  if (d < 14 * dayMs) return `${Math.floor(d / dayMs)}d`
  if (d < 60 * dayMs) return `${Math.floor(d / (7 * dayMs))}w`
  if (d < 730 * dayMs) return `${Math.floor(d / (30 * dayMs))}mo`
  return `${Math.floor(d / (365 * dayMs))}y`
}

/** "0ms", "850ms", "1.2s", "3m04s", "2h01m". */
export function formatDuration (ms: number): string {
  if (ms < secondMs) return `${ms}ms`
  if (ms < minuteMs) return `${(ms / secondMs).toFixed(1)}s`
  if (ms < hourMs) return `${Math.floor(ms / minuteMs)}m${String(Math.floor((ms % minuteMs) / secondMs)).padStart(2, '0')}s`
  return `${Math.floor(ms / hourMs)}h${String(Math.floor((ms % hourMs) / minuteMs)).padStart(2, '0')}m`
}

/** "✓", "✗ 127", "?" (the exit status of a command whose shell went away before it finished). */
export function formatExit (code: number): string {
  if (code === 0) return '✓'
  if (code === unknownExitCode) return '?'
  return `✗ ${code}`
}

function homeShort (path: string, home: string): string {
  if (home !== '' && home !== '/' && (path === home || path.startsWith(home + '/'))) return '~' + path.slice(home.length)
  return path
}

/** One line, safe on a terminal: tabs and newlines become spaces, other controls are shown (escape.ts). */
function oneLine (text: string): string {
  return showControls(text.replace(/[\t\n\r]/g, ' '))
}

/** The visible part before the command: age, exit, duration, and host/directory where they differ from here. */
export function rowText (row: FeedRow, view: RowView): string {
  const [, ts, , , cwd, exitCode, durationMs, hostname] = row
  const ago = formatAgo(view.nowMs - Date.parse(ts)).padStart(4)
  const exit = formatExit(exitCode).padEnd(5)
  const duration = formatDuration(durationMs).padStart(6)
  let where = ''
  if (hostname !== '' && hostname !== view.hostname) where += `@${oneLine(hostname)}`
  if (cwd !== '' && cwd !== view.cwd) where += `${where !== '' ? ':' : ''}${oneLine(homeShort(cwd, view.home))}`
  // Kept short (its tail, the part that differs most), so the command stays in view; the preview has it whole.
  if (where.length > maxWhere) where = `…${where.slice(-(maxWhere - 1))}`
  return `${ago} ${exit}${duration}  ${where !== '' ? `${where}  ` : ''}`
}

/** The preview's metadata lines (before the command). */
export function previewLines (row: FeedRow, view: RowView): string[] {
  const [, ts, deviceId, , cwd, exitCode, durationMs, hostname] = row
  const exit = exitCode === 0 ? '0' : exitCode === unknownExitCode ? 'unknown (its shell ended before it finished)' : `${exitCode} (failed)`
  return [
    `time:      ${formatLocal(ts, view.utc === true)} (${formatAgo(view.nowMs - Date.parse(ts))} ago)`,
    `exit:      ${exit}`,
    `duration:  ${formatDuration(durationMs)}`,
    `directory: ${cwd === '' ? '(unknown)' : oneLine(cwd)}`,
    `host:      ${hostname === '' ? '(unknown)' : oneLine(hostname)}`,
    `device:    ${oneLine(deviceId)}`
  ]
}

/** One fzf record, without its NUL. The command is shown with its control characters escaped (escape.ts). */
export function formatRecord (row: FeedRow, view: RowView): string {
  return `${oneLine(row[3])}\t${previewLines(row, view).join(previewLineSeparator)}\t${rowText(row, view)}\t${showControls(row[0])}`
}

/** A header record (for `--header-lines=1`): shown in place of the row, with no command. */
export function headerRecord (text: string): string {
  return `\t\t${oneLine(text)}\t`
}

/** The entry_id of a record fzf printed (its first field). */
export function selectedEntryId (record: string): string {
  const tab = record.indexOf('\t')
  return tab === -1 ? '' : record.slice(0, tab)
}

/** The command as shown in a record fzf printed (after the third tab; a command may hold tabs itself). */
export function selectedCommand (record: string): string {
  let at = -1
  for (let i = 0; i < 3; i++) {
    at = record.indexOf('\t', at + 1)
    if (at === -1) return record
  }
  return record.slice(at + 1)
}

/**
 * The preview command fzf runs through sh: the metadata lines, a blank line, the whole command. The fields come in
 * the files fzf writes for `{f…}` placeholders (fzf ≥ 0.19; mode 0600, each ending with NUL under --print0), never
 * in sh's arguments: those are in the process list, where another user on the machine could read every highlighted
 * command.
 */
export const previewCommand = "tr '\\037\\000' '\\n\\n' < {f2}; echo; tr '\\000' '\\n' < {f4..}"
