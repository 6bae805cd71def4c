/**
 * The ctrl+r feed: distinct commands, newest first (ts, device_id, entry_id descending), each at its most recent
 * use, at most `limit`, as NUL-terminated records for `fzf --read0`.
 *
 * Two phases, so the first screen never waits for a thread to boot:
 *  1. the head: the first `headRows` distinct commands, read on the calling thread (a few ms on any size);
 *  2. the rest: streamed by a piscina worker (task 'export-search') through a transferred MessagePort, continuing
 *     after the head's last row (keyset) and skipping the head's commands.
 * A worker boot costs ~100 ms; fzf shows the head meanwhile.
 *
 * Both phases read the source the head chose: without filters, command_latest (distinct already: no dedup, no
 * commands to skip, ~100k rows read for 100k commands); with filters, or on a database from before schema v3 opened
 * read-only, every entry newest first, deduplicated here.
 */
import { MessageChannel, type MessagePort } from 'node:worker_threads'
import { hasControls, showControls } from '../core/escape.js'
import { feedSource, iterateFeedCmds, iterateFeedRows, openForSearch, type FeedFilters, type FeedKey, type FeedSource } from '../store/search.js'
import type { WorkerPool } from '../../workers/pool.js'
import { formatRecord, headerRecord, type RowView } from './rows.js'

/** What the worker is asked for (ExportSearchTask.query). */
export type FeedQuery = {
  /** Distinct commands still wanted. */
  limit: number
  filters: FeedFilters
  /** The table the head read (the worker reads the same). @default 'entries' */
  source?: FeedSource
  /** Continue strictly after this row (UI order). */
  after?: FeedKey
  /** Commands already sent (the head); entries only, command_latest rows are distinct. */
  exclude?: string[]
  /** Records per posted chunk. @default 8192 */
  chunkRows?: number
  /** How rows are drawn (see rows.ts); without it a record is the bare command. */
  view?: RowView
}

/** Messages on the feed port, worker → main. */
export type FeedMessage = { chunk: Uint8Array } | { end: true, rows: number }

export interface FeedInit {
  dbPath: string
  limit: number
  filters: FeedFilters
  /** Distinct commands read on the calling thread before the worker takes over. @default 1000 */
  headRows?: number
  /** How rows are drawn (see rows.ts); without it a record is the bare command. */
  view?: RowView
  /** A first record for fzf's `--header-lines=1` (the mode and the keys). */
  header?: string
}

export interface FeedRest {
  /** Rows the worker sent. */
  rows: number
}

export interface Feed {
  /** The head as NUL-terminated records (empty when there is no history). */
  head: Uint8Array
  headRows: number
  /** True when the head already holds the whole feed. */
  complete: boolean
  /**
   * Streams the rest into `sink`; resolves when all is sent or `signal` aborts (the pool is then closed, which
   * stops the worker). Uses `pool` when given (and leaves it open), else a private one.
   */
  rest: (sink: (chunk: Uint8Array) => void, options?: { signal?: AbortSignal, pool?: WorkerPool }) => Promise<FeedRest>
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

/** Opens the feed and reads its head on this thread. */
export function openFeed (init: FeedInit): Feed {
  const headLimit = Math.min(init.limit, init.headRows ?? 1000)
  const db = openForSearch(init.dbPath, { drainSpool: true })
  const cmds: string[] = []
  const records: string[] = init.header != null ? [headerRecord(init.header)] : []
  let last: FeedKey | undefined
  let exhausted = true
  let source: FeedSource = 'entries'
  if (db != null) {
    try {
      source = feedSource(db, init.filters)
      const distinct = source === 'entries' ? new Distinct() : undefined
      for (const row of iterateFeedRows(db, init.filters, undefined, source)) {
        const [cmd, ts, deviceId, entryId] = row
        last = [ts, deviceId, entryId]
        if (distinct != null && !distinct.offer(cmd)) continue
        cmds.push(cmd)
        records.push(init.view != null ? formatRecord(row, init.view) : showControls(cmd))
        if (cmds.length >= headLimit) { exhausted = false; break }
      }
    } finally {
      db.close()
    }
  }
  const complete = exhausted || cmds.length >= init.limit
  const rest: Feed['rest'] = async (sink, options = {}) => {
    if (complete || last == null) return { rows: 0 }
    const query: FeedQuery = { limit: init.limit - cmds.length, filters: init.filters, source, after: last }
    if (init.view != null) query.view = init.view
    // A command in the head has a key at or above `last`, and command_latest keys only move up: nothing to skip.
    // (The worker reads a later snapshot: a command used again meanwhile moves above `last` and waits for the next
    // ctrl+r, where it is on top; the entries scan would still list its older use.)
    if (source === 'entries') query.exclude = cmds
    return await streamFromWorker(init.dbPath, query, sink, options)
  }
  return { head: encodeRaw(records), headRows: cmds.length, complete, rest }
}

async function streamFromWorker (dbPath: string, query: FeedQuery, sink: (chunk: Uint8Array) => void,
  options: { signal?: AbortSignal, pool?: WorkerPool }): Promise<FeedRest> {
  const aborted = (): boolean => options.signal?.aborted === true
  if (aborted()) return { rows: 0 }
  // Loaded only now: piscina costs tens of ms to import, and the head is already on screen.
  const { WorkerPool } = await import('../../workers/pool.js')
  if (aborted()) return { rows: 0 } // fzf may have closed while piscina loaded
  const pool = options.pool ?? new WorkerPool({ maxThreads: 1 })
  const ownPool = options.pool == null
  const { port1, port2 } = new MessageChannel()
  return await new Promise<FeedRest>((resolve, reject) => {
    let settled = false
    const finish = (rows: number, err?: unknown): void => {
      if (settled) return
      settled = true
      port1.close()
      options.signal?.removeEventListener('abort', onAbort)
      const closed = ownPool ? pool.close() : Promise.resolve()
      closed.then(() => err != null ? reject(err) : resolve({ rows }), reject)
    }
    const onAbort = (): void => finish(0)
    options.signal?.addEventListener('abort', onAbort, { once: true })
    port1.on('message', (message: FeedMessage) => {
      if (settled) return
      if ('chunk' in message) sink(message.chunk)
      else finish(message.rows)
    })
    pool.run({ tag: 'export-search', dbPath, port: port2 as MessagePort, query }, [port2])
      .catch((err: unknown) => finish(0, settled ? undefined : err))
  })
}
