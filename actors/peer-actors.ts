/**
 * The live dependencies of the peer-sync machine: dial logging and fan-out over candidate addresses, the pull and
 * push loops (bulk JSON and SQLite work in the worker pool), round summaries and sync status in SQLite.
 */
import type { Database } from 'better-sqlite3'
import { MessageChannel } from 'node:worker_threads'
import type { EntrySigner } from '../src/core/signature.js'
import type { PeerSyncDependencies, PeerSyncEvent, LoopInput, DialInput } from '../machines/peer-sync.machine.js'
import { toFailure, type Link, type PeerOutcome } from '../src/sync/types.js'
import { maxPullResponseBytes, maxPushRequestBytes } from '../src/protocol/constants.js'
import { errorMessage, isPermanent, ProtocolError, SyncError } from '../src/protocol/errors.js'
import { ownedBuffer } from '../src/protocol/framing.js'
import { getPullCursor, getPushCursor, noteRefused, setPushCursor, updateSyncStatus } from '../src/store/peers.js'
import { getTombstonePullCursor, getTombstonePushCursor, setTombstonePushCursor } from '../src/store/tombstones.js'
import {
  afterAck, afterReceived, afterStored, afterTooLarge, beforePush, prefetchCursor, prefetchMatches, startPull, transferFailure,
  type ParsedBatch, type PullState, type PushState, type RoundLimits
} from '../src/sync/transfer.js'
import { emptyExtras, formatRound, type RoundExtras } from '../src/sync/round.js'
import type { WorkerPool } from '../workers/pool.js'
import type { IngestPulledResult } from '../workers/tasks.js'
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
  onRound?: (outcome: PeerOutcome, extras: RoundExtras) => void
  random?: () => number
  now?: () => number
}

const unixNow = (): number => Math.floor(Date.now() / 1000)

function short (peerId: string): string {
  return peerId.length > 16 ? `${peerId.slice(0, 8)}…${peerId.slice(-6)}` : peerId
}

export function createPeerDependencies (c: PeerActorComponents): PeerSyncDependencies {
  const { db, pool, log } = c
  /** This round's extras per peer key, reported and reset by roundFinished. */
  const extrasByKey = new Map<string, RoundExtras>()
  const extrasOf = (key: string): RoundExtras => {
    let e = extrasByKey.get(key)
    if (e == null) extrasByKey.set(key, e = emptyExtras())
    return e
  }
  /** Peers already reported as lacking the tombstone protocols (said once per process). */
  const saidUnsupported = new Set<string>()

  /** True when the error means the peer does not serve a tombstone protocol: skip tombstones, keep entries. */
  function unsupported (err: unknown, peerId: string, extras: RoundExtras): boolean {
    if (transferFailure(err) !== 'unsupported') return false
    extras.tombstonesUnsupported = true
    if (!saidUnsupported.has(peerId)) {
      saidUnsupported.add(peerId)
      log.info(`sync: peer=${peerId} does not serve tombstones (an older rustory); syncing entries only`)
    }
    return true
  }

  /**
   * After a failed request: the halved limit to ask with when it was "too large" (afterTooLarge). Anything else is
   * thrown again, and so is `oneTooLarge()` when a single item is already too large.
   */
  function halvedLimit (err: unknown, limit: number, what: string, peerId: string, oneTooLarge: () => unknown): number {
    if (transferFailure(err) !== 'too-large') throw err
    const step = afterTooLarge(limit)
    if (step.kind === 'give-up') throw oneTooLarge()
    log.info(`${what}: peer=${peerId} batch too large at limit=${limit}; retrying with limit=${step.limit}`)
    return step.limit
  }

  /** Items a peer sent that we refused: counted for the round summary, noted for sync-status, one log line. */
  function noteRejected (peerId: string, extras: RoundExtras, rejected: ReadonlyArray<{ reason: string }>, what: string): void {
    const first = rejected[0]
    if (first == null) return
    extras.refused += rejected.length
    extras.refusedReason ??= first.reason
    noteRefused(db, peerId, rejected.length, first.reason, unixNow())
    log.info(`pull: peer=${peerId} sent ${rejected.length} invalid ${what}, first: ${first.reason}`)
  }

  /**
   * Pulls the peer's tombstones after our tombstone cursor, before any entries: an entry deleted there is then
   * refused here instead of being stored and deleted again. The same cursor, halving and per-round limits as entries:
   * a peer answering every pull with new tombstones cannot keep a round going, and the rest continues next round.
   */
  async function pullTombstones (link: Link, peerId: string, key: string, limit: number, limits: RoundLimits, signal: AbortSignal): Promise<void> {
    const transport = link.transport
    if (transport.pullTombstones == null) return
    const extras = extrasOf(key)
    let state = startPull(getTombstonePullCursor(db, peerId), limit)
    for (;;) {
      let payload: Uint8Array
      try {
        payload = await transport.pullTombstones({ cursor: state.cursor, limit: state.limit }, signal)
      } catch (err) {
        if (unsupported(err, peerId, extras)) return
        state = { ...state, limit: halvedLimit(err, state.limit, 'tombstone pull', peerId, () => err) }
        continue
      }
      state = afterReceived(state, payload.byteLength)
      const owned = ownedBuffer(payload)
      const result = await pool.run({ tag: 'ingest-tombstones-pulled', dbPath: c.dbPath, peerId, payload: owned }, [owned.buffer as ArrayBuffer])
      noteRejected(peerId, extras, result.rejected, 'tombstones (refused)')
      extras.tombstonesIn += result.added
      extras.deleted += result.deleted
      const step = afterStored(state, { received: result.received, inserted: result.added, nextCursor: result.nextCursor }, limits)
      if (step.kind === 'stalled') throw new ProtocolError(`tombstone pull from ${peerId}: next_cursor ${step.nextCursor} does not advance past ${state.cursor}`)
      if (step.kind === 'round-limit') {
        log.info(`pull: peer=${peerId} reached this round's limit for tombstones (${step.state.pulled} tombstones, ${step.state.bytes} bytes; at most ${limits.maxEntries} or ${limits.maxBytes} bytes per peer and round): the rest continues next round`)
      }
      if (step.kind !== 'next') return
      state = step.state
    }
  }

  /** Pushes every tombstone we hold (ours and relayed ones) that this peer has not acknowledged. */
  async function pushTombstones (link: Link, peerId: string, key: string, limit: number, signal: AbortSignal): Promise<void> {
    const transport = link.transport
    if (transport.pushTombstones == null) return
    const extras = extrasOf(key)
    if (extras.tombstonesUnsupported === true) return
    let state: PushState = { seq: getTombstonePushCursor(db, peerId), limit, pushed: 0 }
    for (;;) {
      const page = await pool.run({ tag: 'export-tombstones', dbPath: c.dbPath, cursor: state.seq, limit: state.limit, maxBytes: maxPushRequestBytes, asPush: true })
      if (beforePush(page).kind !== 'send') return
      let ack
      try {
        ack = await transport.pushTombstones(page.payload, signal)
      } catch (err) {
        if (unsupported(err, peerId, extras)) return
        state = { ...state, limit: halvedLimit(err, state.limit, 'tombstone push', peerId, () => err) }
        continue
      }
      const step = afterAck(state, page, { ok: ack.ok, stored: ack.added, ignored: ack.ignored })
      if (step.refused != null) log.info(`push: peer=${peerId} refused some tombstones (added=${ack.added} ignored=${ack.ignored} of ${page.count})`)
      setTombstonePushCursor(db, peerId, step.state.seq)
      extras.tombstonesOut += page.count
      state = step.state
    }
  }

  /**
   * Stores a pulled batch in the worker. `onParsed` hears the batch's shape as soon as the worker has parsed it
   * (before validation and the insert), so the next request can go out meanwhile; it is never called after the
   * batch is stored (a late message is dropped).
   */
  async function ingestPulled (link: Link, peerId: string, payload: Uint8Array, onParsed: (batch: ParsedBatch) => void): Promise<IngestPulledResult> {
    const owned = ownedBuffer(payload)
    const { port1, port2 } = new MessageChannel()
    let settled = false
    port1.once('message', (batch: ParsedBatch) => { if (!settled) onParsed(batch) })
    port1.unref()
    try {
      return await pool.run({ tag: 'ingest-pulled', dbPath: c.dbPath, peerId, payload: owned, wire: link.transport.wire ?? 1, parsed: port2 }, [owned.buffer as ArrayBuffer, port2])
    } finally {
      settled = true
      port1.close()
    }
  }

  /**
   * Runs a loop as a callback actor: `run` follows link.changed through `link()` and resolves with the event that
   * ends it (done); a rejection becomes `<step>.failed`, unless the machine stopped the loop.
   */
  function loopActor (input: LoopInput, sendBack: (event: PeerSyncEvent) => void, receive: (listener: (event: PeerSyncEvent) => void) => void,
    step: 'pull' | 'push', run: (link: () => Link, signal: AbortSignal) => Promise<PeerSyncEvent>): () => void {
    const abort = new AbortController()
    let link = input.link
    receive((event) => { if (event.type === 'link.changed') link = event.link })
    run(() => link, abort.signal).then(sendBack, (err: unknown) => {
      if (!abort.signal.aborted) sendBack({ type: `${step}.failed`, error: toFailure(err, step) })
    })
    return () => abort.abort()
  }

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

  const pullLoop: PeerSyncDependencies['pullLoop'] = (input, sendBack, receive) => loopActor(input, sendBack, receive, 'pull', async (link, signal) => {
    const peerId = link().transport.peerId
    const limits: RoundLimits = c.roundLimits ?? { maxEntries: 1_000_000, maxBytes: 1024 * 1024 * 1024 }
    let state: PullState = startPull(getPullCursor(db, peerId), input.limit)
    // The next batch, requested while this one is stored (prefetchCursor decides; batches are still stored
    // strictly in order, each with its own cursor).
    let prefetch: { cursor: number, limit: number, bytes: Promise<Uint8Array> } | undefined
    const extras = extrasOf(input.target.key)
    await pullTombstones(link(), peerId, input.target.key, input.limit, limits, signal)
    for (;;) {
      let payload: Uint8Array
      try {
        const ahead = prefetch
        prefetch = undefined
        payload = ahead != null && prefetchMatches(ahead, state)
          ? await ahead.bytes
          : await link().transport.pull({ cursor: state.cursor, limit: state.limit }, signal)
      } catch (err) {
        state = {
          ...state,
          limit: halvedLimit(err, state.limit, 'pull', peerId, () => new SyncError(`pull from ${peerId}: a single entry after cursor ${state.cursor} does not fit the ${maxPullResponseBytes} byte response cap; --limit cannot make it smaller (${errorMessage(err)})`, { permanent: true }))
        }
        continue
      }
      state = afterReceived(state, payload.byteLength)
      const received = state
      const result = await ingestPulled(link(), peerId, payload, (batch) => {
        const cursor = prefetchCursor(received, batch, limits)
        if (cursor == null || signal.aborted) return
        const bytes = link().transport.pull({ cursor, limit: received.limit }, signal)
        bytes.catch(() => {})
        prefetch = { cursor, limit: received.limit, bytes }
      })
      noteRejected(peerId, extras, result.rejected, 'entries (refused, not stored)')
      if (result.clamped > 0) log.info(`pull: peer=${peerId} sent ${result.clamped} entries stamped more than a day ahead: stored at the receive time, marked`)
      if ((result.replaced ?? 0) > 0) log.info(`pull: peer=${peerId}: ${result.replaced!} unverified entries replaced by their signed copies`)
      const step = afterStored(state, result, limits)
      if (step.kind === 'stalled') throw new ProtocolError(`pull from ${peerId}: next_cursor ${step.nextCursor} does not advance past ${state.cursor}`)
      state = step.state
      if (step.kind === 'done') break
      log.progress?.(input.target.key, `pulling from ${short(peerId)}: ${state.pulled} entries (${state.inserted} new)`)
      sendBack({ type: 'pull.progress', pulled: state.pulled, inserted: state.inserted, cursor: state.cursor })
      if (step.kind === 'round-limit') {
        log.info(`pull: peer=${peerId} reached this round's limit (${state.pulled} entries, ${state.bytes} bytes; at most ${limits.maxEntries} entries or ${limits.maxBytes} bytes per peer and round): the rest continues next round`)
        break
      }
    }
    updateSyncStatus(db, peerId, { last_pull_unix: unixNow(), last_pull_count: state.inserted, last_path: link().path, last_addr: link().addr })
    return { type: 'pull.done', pulled: state.pulled, inserted: state.inserted }
  })

  const pushLoop: PeerSyncDependencies['pushLoop'] = (input, sendBack, receive) => loopActor(input, sendBack, receive, 'push', async (link, signal) => {
    const peerId = link().transport.peerId
    let state: PushState = { seq: getPushCursor(db, peerId), limit: input.limit, pushed: 0 }
    for (;;) {
      const wire = link().transport.wire
      const page = await pool.run({ tag: 'export-push', dbPath: c.dbPath, deviceId: c.deviceId, afterSeq: state.seq, limit: state.limit, maxBytes: maxPushRequestBytes, ...(c.signer != null ? { signer: c.signer } : {}), ...(wire != null ? { wire } : {}) })
      const next = beforePush(page)
      if (next.kind === 'entry-too-large') {
        throw new SyncError(`push to ${peerId}: entry ${next.entryId} is ${next.bytes} bytes, over the ${maxPushRequestBytes} byte push cap`, { permanent: true })
      }
      if (next.kind === 'done') break
      let ack
      try {
        ack = await link().transport.push(page.payload, signal)
      } catch (err) {
        state = { ...state, limit: halvedLimit(err, state.limit, 'push', peerId, () => new SyncError(`push to ${peerId}: one entry does not fit the push cap; try a smaller --limit`, { permanent: true })) }
        continue
      }
      const step = afterAck(state, page, { ok: ack.ok, stored: ack.inserted, ignored: ack.ignored })
      if (step.refused != null) {
        log.info(`push: peer=${peerId} refused some entries (inserted=${ack.inserted} ignored=${ack.ignored} of ${page.count})`)
        updateSyncStatus(db, peerId, { last_error: `push: peer refused ${step.refused} entries`, last_error_unix: unixNow() })
      }
      setPushCursor(db, peerId, step.state.seq)
      state = step.state
      log.progress?.(input.target.key, `pushing to ${short(peerId)}: ${state.pushed} entries`)
      sendBack({ type: 'push.progress', pushed: state.pushed })
    }
    await pushTombstones(link(), peerId, input.target.key, input.limit, signal)
    updateSyncStatus(db, peerId, { last_push_unix: unixNow(), last_push_count: state.pushed })
    return { type: 'push.done', pushed: state.pushed }
  })

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
      const extras = extrasByKey.get(outcome.key) ?? emptyExtras()
      extrasByKey.delete(outcome.key)
      ;(log.summary ?? log.info)(formatRound(outcome, extras))
      c.onRound?.(outcome, extras)
    },
    random: c.random ?? Math.random,
    now: c.now ?? Date.now
  }
}
