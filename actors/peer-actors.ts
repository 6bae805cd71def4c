/**
 * The live dependencies of the peer-sync machine: dial logging and fan-out over candidate addresses, the pull and
 * push loops (bulk JSON and SQLite work in the worker pool), round summaries and sync status in SQLite.
 */
import type { Database } from 'better-sqlite3'
import type { EntrySigner } from '../src/core/signature.js'
import type { PeerSyncDependencies, PeerSyncEvent, LoopInput, DialInput } from '../machines/peer-sync.machine.js'
import { toFailure, type Link, type PeerOutcome } from '../machines/types.js'
import { maxPullResponseBytes, maxPushRequestBytes } from '../src/protocol/constants.js'
import { errorMessage, isPermanent, ProtocolError, SyncError } from '../src/protocol/errors.js'
import { getPullCursor, getPushCursor, setPushCursor, updateSyncStatus } from '../src/store/peers.js'
import { cursorAdvances, limitAfterTooLarge } from '../src/sync/policy.js'
import type { WorkerPool } from '../workers/pool.js'
import type { Connector } from './connector.js'

export interface SyncLog {
  /** One line for the user (stderr). */
  info: (line: string) => void
  /** One summary line per peer per round (stdout); falls back to info. */
  summary?: (line: string) => void
  /** Progress of a long transfer (a terminal shows it in place; otherwise ignored). */
  progress?: (key: string, text: string) => void
}

export interface PeerActorComponents {
  dbPath: string
  /** The main thread's handle, for cursors and status (small, fast statements only). */
  db: Database
  pool: WorkerPool
  connector: Connector
  /** This device's id: --push sends only entries with this device_id. */
  deviceId: string
  /** This device's identity key: its entries are signed before they are pushed. */
  signer?: EntrySigner
  log: SyncLog
  /**
   * What one round may pull from one peer; past either, the round ends and the next one continues from the saved
   * cursor (a big first sync takes a few rounds; a hostile peer answering forever cannot fill the disk in one).
   * @default 1,000,000 entries, 1 GiB
   */
  roundLimits?: { maxEntries: number, maxBytes: number }
  /** Called after every round of every peer (summaries, tests). */
  onRound?: (outcome: PeerOutcome) => void
  random?: () => number
  now?: () => number
}

const unixNow = (): number => Math.floor(Date.now() / 1000)

/** A buffer the worker may take: moved when the view owns its memory, else copied first. */
function ownedBuffer (bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer ? bytes : bytes.slice()
}

const tailDecoder = new TextDecoder('latin1')

/** The next_cursor at the end of a SyncBatch as our servers write it, read without parsing the batch (a hint only). */
export function tailCursor (payload: Uint8Array): number | undefined {
  const tail = tailDecoder.decode(payload.subarray(Math.max(0, payload.byteLength - 48)))
  const match = /"next_cursor":(\d{1,15})\}\s*$/.exec(tail)
  return match != null ? Number(match[1]) : undefined
}

function short (peerId: string): string {
  return peerId.length > 16 ? `${peerId.slice(0, 8)}…${peerId.slice(-6)}` : peerId
}

export function formatRound (outcome: PeerOutcome): string {
  const who = outcome.peerId ?? outcome.key
  const secs = (outcome.stats.lastRoundMs / 1000).toFixed(2)
  if (outcome.ok) {
    return `sync: peer=${who} ok path=${outcome.path ?? '-'} pulled=${outcome.round.pulled} inserted=${outcome.round.inserted} pushed=${outcome.round.pushed} duration=${secs}s`
  }
  return `sync: peer=${who} FAILED step=${outcome.error?.step ?? '-'} error=${outcome.error?.message ?? 'unknown'} duration=${secs}s`
}

export function createPeerDependencies (c: PeerActorComponents): PeerSyncDependencies {
  const { db, pool, log } = c

  async function dialEach (input: DialInput, signal: AbortSignal, path: 'direct' | 'relay', dial: (addr: string) => Promise<Link>, addrs: string[]): Promise<Link> {
    let last: unknown
    let permanent: unknown
    for (const addr of addrs) {
      const started = Date.now()
      try {
        signal.throwIfAborted()
        const link = await dial(addr)
        log.info(`dial: ${path} attempt ${input.attempt}/${input.maxAttempts} peer=${input.target.peerId ?? input.target.key} addr=${addr}: ok in ${Date.now() - started} ms`)
        return link
      } catch (err) {
        log.info(`dial: ${path} attempt ${input.attempt}/${input.maxAttempts} peer=${input.target.peerId ?? input.target.key} addr=${addr}: failed in ${Date.now() - started} ms: ${errorMessage(err)}`)
        last = err
        if (isPermanent(err)) permanent ??= err
      }
    }
    throw permanent ?? last ?? new SyncError(`no ${path} address to dial`)
  }

  function pullLoop (input: LoopInput, sendBack: (event: PeerSyncEvent) => void, receive: (listener: (event: PeerSyncEvent) => void) => void): () => void {
    const abort = new AbortController()
    let link = input.link
    receive((event) => { if (event.type === 'link.changed') link = event.link })
    void (async () => {
      const peerId = link.transport.peerId
      let cursor = getPullCursor(db, peerId)
      let limit = input.limit
      let pulled = 0
      let inserted = 0
      let pulledBytes = 0
      const { maxEntries, maxBytes } = c.roundLimits ?? { maxEntries: 1_000_000, maxBytes: 1024 * 1024 * 1024 }
      // The next batch is requested while this one is being stored (the request uses the next_cursor read from
      // the tail of the bytes; batches are still stored strictly in order, each with its own cursor).
      let prefetch: { cursor: number, limit: number, bytes: Promise<Uint8Array> } | undefined
      try {
        for (;;) {
          let payload: Uint8Array
          try {
            const ahead = prefetch
            prefetch = undefined
            payload = ahead != null && ahead.cursor === cursor && ahead.limit === limit
              ? await ahead.bytes
              : await link.transport.pull({ cursor, limit }, abort.signal)
          } catch (err) {
            if ((err as Error).name !== 'MessageTooLargeError') throw err
            const next = limitAfterTooLarge(limit)
            if (next == null) {
              throw new SyncError(`pull from ${peerId}: a single entry after cursor ${cursor} does not fit the ${maxPullResponseBytes} byte response cap; --limit cannot make it smaller (${errorMessage(err)})`, { permanent: true })
            }
            log.info(`pull: peer=${peerId} batch too large at limit=${limit}; retrying with limit=${next}`)
            limit = next
            continue
          }
          pulledBytes += payload.byteLength
          const hint = tailCursor(payload)
          // No prefetch past the round's byte limit (the entry limit is checked once this batch is counted).
          const lastOfRound = pulledBytes >= maxBytes
          if (hint != null && hint > cursor && !lastOfRound) {
            const bytes = link.transport.pull({ cursor: hint, limit }, abort.signal)
            bytes.catch(() => {})
            prefetch = { cursor: hint, limit, bytes }
          }
          const owned = ownedBuffer(payload)
          const result = await pool.run({ tag: 'ingest-pulled', dbPath: c.dbPath, peerId, payload: owned, wire: link.transport.wire ?? 1 }, [owned.buffer as ArrayBuffer])
          if (result.rejected.length > 0) {
            const first = result.rejected[0]!
            log.info(`pull: peer=${peerId} sent ${result.rejected.length} invalid entries (skipped), first: ${first.reason}`)
          }
          if (result.clamped > 0) log.info(`pull: peer=${peerId} sent ${result.clamped} entries stamped more than a day ahead: stored at the receive time, marked`)
          if ((result.replaced ?? 0) > 0) log.info(`pull: peer=${peerId}: ${result.replaced!} unverified entries replaced by their signed copies`)
          if (result.received === 0 || result.nextCursor == null) break
          if (!cursorAdvances(cursor, result.nextCursor, result.received)) {
            throw new ProtocolError(`pull from ${peerId}: next_cursor ${result.nextCursor} does not advance past ${cursor}`)
          }
          cursor = result.nextCursor
          pulled += result.received
          inserted += result.inserted
          log.progress?.(input.target.key, `pulling from ${short(peerId)}: ${pulled} entries (${inserted} new)`)
          sendBack({ type: 'pull.progress', pulled, inserted, cursor })
          if (pulled >= maxEntries || pulledBytes >= maxBytes) {
            log.info(`pull: peer=${peerId} reached this round's limit (${pulled} entries, ${pulledBytes} bytes; at most ${maxEntries} entries or ${maxBytes} bytes per peer and round): the rest continues next round`)
            break
          }
        }
        updateSyncStatus(db, peerId, { last_pull_unix: unixNow(), last_pull_count: inserted, last_path: link.path, last_addr: link.addr })
        sendBack({ type: 'pull.done', pulled, inserted })
      } catch (err) {
        if (!abort.signal.aborted) sendBack({ type: 'pull.failed', error: toFailure(err, 'pull') })
      }
    })()
    return () => abort.abort()
  }

  function pushLoop (input: LoopInput, sendBack: (event: PeerSyncEvent) => void, receive: (listener: (event: PeerSyncEvent) => void) => void): () => void {
    const abort = new AbortController()
    let link = input.link
    receive((event) => { if (event.type === 'link.changed') link = event.link })
    void (async () => {
      const peerId = link.transport.peerId
      let seq = getPushCursor(db, peerId)
      let limit = input.limit
      let pushed = 0
      try {
        for (;;) {
          const page = await pool.run({ tag: 'export-push', dbPath: c.dbPath, deviceId: c.deviceId, afterSeq: seq, limit, maxBytes: maxPushRequestBytes, ...(c.signer != null ? { signer: c.signer } : {}) })
          if (page.count === 0) {
            if (page.tooLarge != null) {
              throw new SyncError(`push to ${peerId}: entry ${page.tooLarge.entry_id} is ${page.tooLarge.bytes} bytes, over the ${maxPushRequestBytes} byte push cap`, { permanent: true })
            }
            break
          }
          let ack
          try {
            ack = await link.transport.push(page.payload, abort.signal)
          } catch (err) {
            if ((err as Error).name !== 'MessageTooLargeError') throw err
            const next = limitAfterTooLarge(limit)
            if (next == null) throw new SyncError(`push to ${peerId}: one entry does not fit the push cap; try a smaller --limit`, { permanent: true })
            log.info(`push: peer=${peerId} batch too large at limit=${limit}; retrying with limit=${next}`)
            limit = next
            continue
          }
          if (!ack.ok) {
            // The peer refused some entries for good (validation); resending cannot help, and they stay in our DB.
            log.info(`push: peer=${peerId} refused some entries (inserted=${ack.inserted} ignored=${ack.ignored} of ${page.count})`)
            updateSyncStatus(db, peerId, { last_error: `push: peer refused ${page.count - ack.inserted - ack.ignored} entries`, last_error_unix: unixNow() })
          }
          setPushCursor(db, peerId, page.lastSeq)
          seq = page.lastSeq
          pushed += page.count
          log.progress?.(input.target.key, `pushing to ${short(peerId)}: ${pushed} entries`)
          sendBack({ type: 'push.progress', pushed })
        }
        updateSyncStatus(db, peerId, { last_push_unix: unixNow(), last_push_count: pushed })
        sendBack({ type: 'push.done', pushed })
      } catch (err) {
        if (!abort.signal.aborted) sendBack({ type: 'push.failed', error: toFailure(err, 'push') })
      }
    })()
    return () => abort.abort()
  }

  return {
    discover: async (target, signal) => await (c.connector.refresh?.(target, signal) ?? Promise.resolve(target)),
    dialDirect: async (input, signal) => await dialEach(input, signal, 'direct', async (addr) => await c.connector.dialDirect(input.target, addr, signal), input.target.addrs),
    dialRelay: async (input, signal) => await dialEach(input, signal, 'relay', async () => await c.connector.dialRelay(input.target, signal), [input.target.relayAddr ?? '']),
    watchUpgrade: (input, sendBack) => c.connector.watchUpgrade(input.target, input.link, sendBack),
    pullLoop,
    pushLoop,
    closeLink: (link) => { void link.transport.close().catch(() => {}) },
    roundFinished: (outcome) => {
      const peerId = outcome.peerId ?? outcome.key
      if (!outcome.ok && outcome.error != null) {
        updateSyncStatus(db, peerId, { last_error: `${outcome.error.step}: ${outcome.error.message}`, last_error_unix: unixNow() })
      } else if (outcome.ok) {
        updateSyncStatus(db, peerId, outcome.path != null ? { last_path: outcome.path } : {})
      }
      ;(log.summary ?? log.info)(formatRound(outcome))
      c.onRound?.(outcome)
    },
    random: c.random ?? Math.random,
    now: c.now ?? Date.now
  }
}
