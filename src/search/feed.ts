/**
 * The ctrl+r feed: distinct commands, newest first (ts, device_id, entry_id descending), each at its most recent
 * use, at most `limit`, as NUL-terminated records for `fzf --read0`.
 *
 * Two phases, both on the calling thread (it has nothing else to do while fzf runs; a worker thread would cost its
 * boot, ~100 ms of CPU, while fzf draws its first screen):
 *  1. the head: the first `headRows` distinct commands, read at once (a few ms on any size): the first screen. It
 *     also holds the commands still in the record spool, read from their files at their place in the order: moving
 *     them into the database first would load the write side and take a write transaction before the first row;
 *  2. the rest: drains the spool, then reads in chunks from its own connection, continuing after the head's last row
 *     (keyset) and skipping what the head showed, yielding to the event loop between chunks and waiting while the
 *     sink is full.
 *
 * Both phases read the source the head chose: without filters, command_latest (distinct already: no dedup, no
 * commands to skip, ~100k rows read for 100k commands); with filters, or on a database from before schema v3 opened
 * read-only, every entry newest first, deduplicated here.
 */
import type { Database } from 'better-sqlite3'
import { hasControls, showControls } from '../core/escape.js'
import type { Entry } from '../core/entry.js'
import { drainWaiting } from '../store/search-open.js'
import { feedSource, iterateFeedCmds, iterateFeedRows, openForSearch, type FeedFilters, type FeedKey, type FeedRow, type FeedSource } from '../store/search.js'
import { newerFirst, peekSpool } from './spool-peek.js'
import { formatRecord, headerRecord, type RowView } from './rows.js'

/** Where the rest continues (the head's source and position) and what it still owes. */
export type FeedQuery = {
  /** Distinct commands still wanted. */
  limit: number
  filters: FeedFilters
  /** The table the head read (the rest reads the same). @default 'entries' */
  source?: FeedSource
  /** Continue strictly after this row (UI order). */
  after?: FeedKey
  /** Commands already sent: the head's (entries), or what the head showed from the spool (command_latest). */
  exclude?: string[]
  /** Records per chunk handed to the sink. @default 4096 */
  chunkRows?: number
  /** How rows are drawn (see rows.ts); without it a record is the bare command. */
  view?: RowView
}

export interface FeedInit {
  dbPath: string
  limit: number
  filters: FeedFilters
  /**
   * Distinct commands in the head: a first screen (fzf --height=40% of a terminal up to 160 lines), written as soon
   * as it is read; every row more in it is more formatting before fzf can draw. @default 64
   */
  headRows?: number
  /** How rows are drawn (see rows.ts); without it a record is the bare command. */
  view?: RowView
  /** A first record for fzf's `--header-lines=1` (the mode and the keys). */
  header?: string
}

export interface FeedRest {
  /** Rows the rest sent. */
  rows: number
}

/** Takes a chunk of records; a promise it returns holds the next chunk back until it settles. */
export type FeedSink = (chunk: Uint8Array) => unknown

export interface Feed {
  /** The head as NUL-terminated records (empty when there is no history). */
  head: Uint8Array
  headRows: number
  /** True when the head already holds the whole feed. */
  complete: boolean
  /**
   * Streams the rest into `sink` (waiting on the promise it may return: a full pipe); resolves when all is sent or
   * when `signal` aborts (nothing more is handed to the sink after that).
   */
  rest: (sink: FeedSink, options?: { signal?: AbortSignal }) => Promise<FeedRest>
  /** The commands the head showed from the spool, by entry_id (not in the database until rest() drains it). */
  fromSpool: ReadonlyMap<string, string>
}

const encoder = new TextEncoder()

/**
 * Encodes records as `cmd\0cmd\0…` in a buffer of its own (safe to transfer). fzf is shown each command with its
 * control characters escaped (src/core/escape.ts); resolveSelection turns the chosen line back into the command.
 */
export function encodeRecords (cmds: readonly string[]): Uint8Array {
  return cmds.length === 0 ? new Uint8Array(0) : encoder.encode(cmds.map(showControls).join('\0') + '\0')
}

/** Encodes records that are safe to show already (rows.ts escapes what it shows) as `record\0record\0…`. */
export function encodeRaw (records: readonly string[]): Uint8Array {
  return records.length === 0 ? new Uint8Array(0) : encoder.encode(records.join('\0') + '\0')
}

/**
 * The command behind the line fzf returned: itself, unless it shows escaped control characters, then the newest
 * command in the same list that is shown that way (one pass over the list; only for such a selection).
 */
export function resolveSelection (dbPath: string, filters: FeedFilters, shown: string): string {
  if (!mayBeEscaped.test(shown)) return shown
  const db = openForSearch(dbPath, { drainSpool: false })
  if (db == null) return shown
  try {
    for (const cmd of iterateFeedCmds(db, filters)) if (hasControls(cmd) && showControls(cmd) === shown) return cmd
    return shown
  } finally {
    db.close()
  }
}
const mayBeEscaped = /[\u2400-\u241f\u2421]|<U\+[0-9A-F]{4}>/

/** Keeps the first (most recent) use of each command. */
export class Distinct {
  readonly #seen: Set<string>
  constructor (initial: Iterable<string> = []) {
    this.#seen = new Set(initial)
  }

  /** True the first time a command is offered. */
  offer (cmd: string): boolean {
    if (this.#seen.has(cmd)) return false
    this.#seen.add(cmd)
    return true
  }
}

/** A waiting spool entry as a feed row. Pure. */
function rowOf (e: Entry): FeedRow {
  return [e.cmd, e.ts, e.device_id, e.entry_id, e.cwd, e.exit_code, e.duration_ms, e.hostname]
}

/** True when spool entry `e` sorts before (is newer than) database row `row` in UI order. Pure. */
function before (e: Entry, row: FeedRow): boolean {
  return newerFirst(e, { ts: row[1], device_id: row[2], entry_id: row[3] } as Entry) <= 0
}

/** The entries a drain would not store because their entry_id was deleted (its trigger refuses them). */
function withoutTombstoned (db: Database, entries: Entry[]): Entry[] {
  if (entries.length === 0 || db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'tombstones'").get() == null) return entries
  const gone = db.prepare('SELECT 1 FROM tombstones WHERE entry_id = ?').pluck()
  return entries.filter((e) => gone.get(e.entry_id) == null)
}

/**
 * Opens the feed and reads its head on this thread. Commands still in the record spool are in it too, read from
 * their files (spool-peek.ts) at their place in the order; rest() moves the spool into the database before it reads.
 */
export function openFeed (init: FeedInit): Feed {
  const headLimit = Math.min(init.limit, init.headRows ?? 64)
  const peek = peekSpool(init.dbPath, init.filters)
  const db = openForSearch(init.dbPath)
  const cmds: string[] = []
  const records: string[] = init.header != null ? [headerRecord(init.header)] : []
  const fromSpool = new Map<string, string>()
  let last: FeedKey | undefined
  let exhausted = true
  let source: FeedSource = 'entries'
  const distinct = new Distinct()
  const show = (row: FeedRow, spooled: boolean): void => {
    if (!distinct.offer(row[0])) return
    cmds.push(row[0])
    if (spooled) fromSpool.set(row[3], row[0])
    records.push(init.view != null ? formatRecord(row, init.view) : showControls(row[0]))
  }
  const full = (): boolean => cmds.length >= init.limit
  let waiting = peek.entries
  if (db != null) {
    try {
      waiting = withoutTombstoned(db, waiting)
      source = feedSource(db, init.filters)
      let w = 0
      for (const row of iterateFeedRows(db, init.filters, undefined, source)) {
        // Every waiting entry newer than this row goes first, even past headRows: the rest reads after `last` only.
        while (w < waiting.length && !full() && before(waiting[w]!, row)) show(rowOf(waiting[w++]!), true)
        if (full()) { exhausted = false; break }
        last = [row[1], row[2], row[3]]
        show(row, false)
        if (cmds.length >= headLimit) { exhausted = false; break }
      }
      // Past the last row read, the rest reads the older waiting entries from the database, after the drain.
      waiting = exhausted ? waiting.slice(w) : []
    } finally {
      db.close()
    }
  }
  for (const e of waiting) if (!full()) show(rowOf(e), true)
  const complete = exhausted || cmds.length >= init.limit
  const rest: Feed['rest'] = async (sink, options = {}) => {
    if (options.signal?.aborted === true) return { rows: 0 }
    if (peek.waiting) drainWaiting(init.dbPath)
    if (complete || last == null) return { rows: 0 }
    const query: FeedQuery = { limit: init.limit - cmds.length, filters: init.filters, source, after: last }
    if (init.view != null) query.view = init.view
    // A command in the head has a key at or above `last`, and command_latest keys only move up: nothing to skip but
    // what the head showed from the spool, in case the drain could not store it (a lock held by an import).
    // (The rest reads a later snapshot: a command used again meanwhile moves above `last` and waits for the next
    // ctrl+r, where it is on top; the entries scan would still list its older use.)
    if (source === 'entries') query.exclude = cmds
    else if (fromSpool.size > 0) query.exclude = [...fromSpool.values()]
    return await streamRest(init.dbPath, query, sink, options.signal)
  }
  return { head: encodeRaw(records), headRows: cmds.length, complete, rest, fromSpool }
}

const defaultChunkRows = 4096
/** The first chunk after the head is small, so rows keep flowing while the scan warms up. */
const firstChunkRows = 1024

const nextTurn = async (): Promise<void> => await new Promise((resolve) => setImmediate(resolve))

/** The rest of a feed from its own read-only connection, in chunks, on this thread. */
async function streamRest (dbPath: string, query: FeedQuery, sink: FeedSink, signal?: AbortSignal): Promise<FeedRest> {
  const aborted = (): boolean => signal?.aborted === true
  if (aborted()) return { rows: 0 }
  const db = query.limit > 0 ? openForSearch(dbPath) : undefined
  if (db == null) return { rows: 0 }
  let rows = 0
  let sent = 0
  try {
    const source = query.source ?? 'entries'
    const distinct = source === 'entries' || query.exclude != null ? new Distinct(query.exclude ?? []) : undefined
    const chunkRows = query.chunkRows ?? defaultChunkRows
    let pending: string[] = []
    let threshold = Math.min(firstChunkRows, chunkRows)
    const flush = async (): Promise<void> => {
      if (pending.length === 0) return
      const chunk = encodeRaw(pending)
      sent += pending.length
      pending = []
      threshold = chunkRows
      await sink(chunk)
      // Between chunks: fzf's exit (the abort) and the pipe's drain events get their turn.
      await nextTurn()
    }
    for (const row of iterateFeedRows(db, query.filters, query.after, source)) {
      if (distinct != null && !distinct.offer(row[0])) continue
      pending.push(query.view != null ? formatRecord(row, query.view) : showControls(row[0]))
      rows++
      if (rows >= query.limit) break
      if (pending.length >= threshold) {
        await flush()
        if (aborted()) return { rows: sent }
      }
    }
    if (!aborted()) await flush()
    return { rows: sent }
  } finally {
    db.close()
  }
}
