/**
 * The runner behind `rr delete` and `rr redact`: choose what goes, show it, ask on a terminal, then write
 * tombstones and delete (src/store/tombstones.ts). The tombstones reach every peer at the next sync.
 */
import { isUuid } from '../core/entry.js'
import { showControls } from '../core/escape.js'
import { UsageError } from '../core/errors.js'
import { drainSpoolInto, openDatabase } from '../store/db.js'
import type { FeedFilters } from '../store/search.js'
import { deleteEntries, type DeleteResult } from '../store/tombstones.js'
import { selectByFilter, selectByImport, selectExact, selectSecrets, type Doomed } from './select.js'

export type Selection =
  | { kind: 'ids', ids: string[] }
  | { kind: 'filter', query: string, filters: FeedFilters }
  | { kind: 'exact', cmd: string }
  | { kind: 'command-of', entryId: string }
  | { kind: 'import', batchId: string }
  | { kind: 'secrets' }

export interface ForgetInit {
  dbPath: string
  deviceId: string
  peerId?: string
  selection: Selection
  /** Only list what would go. @default false */
  dryRun?: boolean
  /** Do not ask. @default false */
  yes?: boolean
}

export interface ForgetIo {
  out: (text: string) => void
  err: (text: string) => void
  /** Asks a yes/no question on the terminal; undefined when there is no terminal to ask on. */
  confirm?: (question: string) => Promise<boolean>
}

export interface ForgetOutcome {
  selected: number
  result?: DeleteResult
  /** The user said no, or --dry-run. */
  cancelled: boolean
}

/** How many rows of the list to show before `… and N more`. */
const shownRows = 20

/** A command on one line, its control characters shown as text: commands come from peers (src/core/escape.ts). */
function oneLine (cmd: string, width = 100): string {
  const flat = showControls(cmd.replace(/\s*\n\s*/g, ' ⏎ '))
  return flat.length > width ? `${flat.slice(0, width - 1)}…` : flat
}

export function renderList (doomed: readonly Doomed[], all = false): string {
  const rows = all ? doomed : doomed.slice(0, shownRows)
  const lines = rows.map((d) => `  ${showControls(d.entry_id)}  ${d.ts === '' ? '(not stored here)       ' : showControls(d.ts)}  ${d.reason != null ? `[${d.reason}] ` : ''}${oneLine(d.cmd)}`)
  if (rows.length < doomed.length) lines.push(`  … and ${doomed.length - rows.length} more`)
  return lines.length > 0 ? `${lines.join('\n')}\n` : ''
}

export async function runForget (init: ForgetInit, io: ForgetIo): Promise<ForgetOutcome> {
  const s = init.selection
  if (s.kind === 'ids') {
    const bad = s.ids.filter((id) => !isUuid(id))
    if (bad.length > 0) throw new UsageError(`not an entry id: ${bad.slice(0, 3).join(', ')} (entry ids are UUIDs; \`rr history --format jsonl\` shows them)`)
  }
  const db = openDatabase(init.dbPath)
  // A command recorded a moment ago can be forgotten too.
  drainSpoolInto(db, init.dbPath)
  try {
    let doomed: Doomed[]
    switch (s.kind) {
      case 'ids': {
        const find = db.prepare('SELECT entry_id, ts, cmd FROM entries WHERE entry_id = ?')
        doomed = [...new Set(s.ids.map((id) => id.toLowerCase()))].map((id) => (find.get(id) as Doomed | undefined) ?? { entry_id: id, ts: '', cmd: '' })
        break
      }
      case 'filter': doomed = selectByFilter(db, s.query, s.filters); break
      case 'exact': doomed = selectExact(db, s.cmd); break
      case 'command-of': {
        const cmd = db.prepare('SELECT cmd FROM entries WHERE entry_id = ?').pluck().get(s.entryId.toLowerCase()) as string | undefined
        doomed = cmd != null ? selectExact(db, cmd) : []
        break
      }
      case 'import': doomed = selectByImport(db, s.batchId); break
      case 'secrets': doomed = selectSecrets(db); break
    }
    if (doomed.length === 0) {
      io.err('delete: nothing matches; nothing deleted\n')
      return { selected: 0, cancelled: false }
    }
    if (init.dryRun === true) {
      io.out(renderList(doomed, true))
      io.err(`delete: --dry-run: ${doomed.length} entries would be deleted on every device; nothing deleted\n`)
      return { selected: doomed.length, cancelled: true }
    }
    // Naming ids is already explicit; a filter, an import batch or a redact sweep is shown and confirmed first.
    if (s.kind !== 'ids' && init.yes !== true) {
      if (io.confirm == null) {
        throw new UsageError(`delete: ${doomed.length} entries match; not on a terminal, so nothing was deleted: add --yes to delete them, or --dry-run to list them`)
      }
      io.err(renderList(doomed))
      const ok = await io.confirm(`Delete these ${doomed.length} entries here and, at the next sync, on every device? [y/N] `)
      if (!ok) {
        io.err('delete: cancelled; nothing deleted\n')
        return { selected: doomed.length, cancelled: true }
      }
    }
    const result = deleteEntries(db, doomed.map((d) => d.entry_id), {
      deviceId: init.deviceId,
      ...(init.peerId != null ? { peerId: init.peerId } : {})
    })
    const notHere = doomed.length - result.deleted
    io.out(`deleted ${result.deleted} entries; ${result.added} new tombstones${notHere > 0 ? ` (${notHere} not stored here, tombstoned anyway)` : ''}; they reach other devices at the next sync\n`)
    if (!result.checkpointed) io.err('delete: warning: another process was reading the database, so deleted text may stay in history.db-wal until the next delete or `rr doctor`\n')
    return { selected: doomed.length, result, cancelled: false }
  } finally {
    db.close()
  }
}
