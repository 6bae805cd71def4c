/**
 * The serving side of the two sync protocols. Each stream carries one request document (read to end of stream
 * under its cap) and one answer document; the database work (export a page, ingest a push) runs in the worker
 * pool so a 32 MiB batch never blocks the network loop. A bad request gets an error document, one log line, and
 * the node keeps serving everyone else.
 */
import type { Connection, Libp2p, Stream } from '@libp2p/interface'
import type { WireVersion } from '../core/admit.js'
import type { EntrySigner } from '../core/signature.js'
import { entriesPushProtocol, entriesPushProtocolV2, entriesPushProtocolV3, entriesPushProtocolV4, maxPullRequestBytes, maxPullResponseBytes, maxPushRequestBytes, maxPushResponseBytes, syncPullProtocol, syncPullProtocolV2, syncPullProtocolV3, syncPullProtocolV4 } from '../protocol/constants.js'
import { errorMessage } from '../protocol/errors.js'
import { decodeJson, parseSyncPull } from '../protocol/messages.js'
import { servePull, servePush, type ServeComponents } from '../sync/serve.js'
import type { WorkerPool } from '../../workers/pool.js'
import { BusyError, ByteBudget, defaultRequestBudgetBytes } from './byte-budget.js'
import { CountedLog } from './counted-log.js'
import { startSignAhead } from './sign-ahead.js'
import { armDeadline, encodeError, readDocument, writeAll, type ErrorDocument } from './stream-io.js'
import { secondMs, minuteMs } from '../core/units.js'

export interface ServeSyncInit {
  /** The local database the peer serves from and ingests pushes into. */
  dbPath: string
  /** Runs export-batch and ingest-push off the network loop. Owned by the caller (closed by it). */
  pool: WorkerPool
  /** A line per refused request or failure, of each kind per peer (counted: logWindowMs). @default no logging */
  log?: (line: string) => void
  /** How long refusals of one kind from one peer are counted after the first is logged (CountedLog). @default 10 s */
  logWindowMs?: number
  /** A request must arrive completely within this time. @default 30 s for a pull, 2 min for a push */
  pullRequestTimeoutMs?: number
  pushRequestTimeoutMs?: number
  /** The whole exchange (request and answer) must end within this time. @default 5 min */
  exchangeTimeoutMs?: number
  /** Concurrent streams per connection and protocol. @default 8 */
  maxInboundStreams?: number
  /** Request bytes held at once across all streams and connections (see ByteBudget). @default 48 MiB */
  requestBudgetBytes?: number
  /**
   * The budget itself, to share one between the entry and the tombstone protocols (src/run/serve.ts): two of
   * requestBudgetBytes each would let twice as much be held. @default a new one of requestBudgetBytes
   */
  budget?: ByteBudget
  /** This device's identity key: its own entries are signed ahead (src/p2p/sign-ahead.ts), and before they are served. */
  signer?: EntrySigner
  /** Protocol versions to serve; [1] makes a server like one from before signed entries, [1, 2] one from before chunk signatures, [1, 2, 3] one from before runs (tests). @default [1, 2, 3, 4] */
  wireVersions?: WireVersion[]
}

/** A request we refuse, with what to tell the peer. */
export class RefusedError extends Error {
  constructor (readonly doc: ErrorDocument) {
    super(doc.error)
  }
}

function refusal (err: unknown): RefusedError | undefined {
  if (err instanceof RefusedError) return err
  const name = (err as { name?: unknown })?.name
  if (name === 'MessageTooLargeError') return new RefusedError({ error: errorMessage(err), code: 'too_large' })
  if (name === 'ProtocolError') return new RefusedError({ error: errorMessage(err), code: 'malformed' })
  if (name === 'BusyError') return new RefusedError({ error: errorMessage(err), code: 'busy' })
  return undefined
}

/** The least room a pull's answer is made in: more than any one entry takes (a command is at most 64 KiB). */
export const minReplyRoom = 1024 * 1024

/** Room a pull asks for: its limit times a typical item's bytes (a malformed request is refused in the answer). */
export function pullRoomWanted (request: Uint8Array, what: string, bytesPerItem: number): number {
  try {
    return parseSyncPull(decodeJson(request, what)).limit * bytesPerItem
  } catch {
    return 0
  }
}

/**
 * Builds the stream handler of one exchange: read the request under its cap, deadline and the shared byte budget,
 * answer, half-close; refusals become error documents and a log line, counted per peer and kind (CountedLog: a
 * peer can open streams as fast as it likes). Shared by the entry and tombstone protocols.
 */
export function exchangeHandler (log: CountedLog, exchangeTimeoutMs: number, budget: ByteBudget) {
  return (what: string, requestCap: number, requestTimeoutMs: number, answer: (request: Uint8Array, peerId: string, replyRoom: number) => Promise<Uint8Array>, replyCap = maxPushResponseBytes, replyWanted: (request: Uint8Array) => number = () => replyCap) =>
    async (stream: Stream, connection: Connection): Promise<void> => {
      const peer = connection.remotePeer.toString()
      const disarm = armDeadline(stream, exchangeTimeoutMs, what)
      const hold = budget.hold(`${what} request`)
      try {
        let reply: Uint8Array
        try {
          const disarmRead = armDeadline(stream, requestTimeoutMs, `${what} request`)
          let request: Uint8Array
          try {
            request = await readDocument(stream, requestCap, `${what} request`, hold)
          } finally {
            disarmRead()
          }
          // The answer is held in the budget too, from before it is made until it is written: a peer that asks and
          // never reads would keep it. Room is taken for what the request asks (a pull's limit), at most what is
          // left, and the answer is made to fit it (a shorter page; the peer asks on); then only its own size stays
          // held. So the small pages of many peers at once pass, and big ones wait their turn.
          const room = Math.min(replyCap, budget.available, Math.max(minReplyRoom, replyWanted(request)))
          if (room < Math.min(replyCap, minReplyRoom)) throw new BusyError(`${what}: the server is holding ${Math.round(budget.used / (1024 * 1024))} MiB of requests and answers, its limit is ${Math.round(budget.capacity / (1024 * 1024))} MiB; retry later`)
          hold.take(room)
          reply = await answer(request, peer, room)
          hold.release()
          hold.take(reply.byteLength)
        } catch (err) {
          hold.release()
          const refused = refusal(err)
          if (refused == null) throw err
          log.line(`${what} ${peer} ${refused.doc.code ?? 'refused'}`, `p2p: refused ${what} from ${peer}: ${refused.message}`)
          await replyAndClose(stream, encodeError(refused.doc))
          return
        }
        await writeAll(stream, reply)
        await stream.close()
      } catch (err) {
        log.line(`${what} ${peer} failed`, `p2p: ${what} with ${peer} failed: ${errorMessage(err)}`)
        stream.abort(err instanceof Error ? err : new Error(String(err)))
      } finally {
        hold.release()
        disarm()
      }
    }
}

/**
 * Registers the sync-pull and entries-push handlers on the node. Resolves once both are registered; the returned
 * function unregisters them.
 */
export async function serveSync (node: Libp2p, init: ServeSyncInit): Promise<() => Promise<void>> {
  const log = init.log ?? (() => {})
  const exchangeTimeoutMs = init.exchangeTimeoutMs ?? 5 * minuteMs
  const options = { maxInboundStreams: init.maxInboundStreams ?? 8, runOnLimitedConnection: true }
  const budget = init.budget ?? new ByteBudget(init.requestBudgetBytes ?? defaultRequestBudgetBytes)

  const counted = new CountedLog(log, init.logWindowMs != null ? { windowMs: init.logWindowMs } : {})
  const exchange = exchangeHandler(counted, exchangeTimeoutMs, budget)

  const core: ServeComponents = { dbPath: init.dbPath, pool: init.pool, ...(init.signer != null ? { signer: init.signer } : {}) }

  const pull = (wire: WireVersion) => exchange('sync-pull', maxPullRequestBytes, init.pullRequestTimeoutMs ?? 30 * secondMs, async (request, _peer, room) => {
    const pull = parseSyncPull(decodeJson(request, 'SyncPull'))
    let answer = await servePull(core, pull, wire, room)
    // One entry bigger than the room this request took: it goes alone, under the whole cap.
    if (answer.kind === 'entry-too-large' && answer.capBytes < maxPullResponseBytes) answer = await servePull(core, { ...pull, limit: 1 }, wire)
    if (answer.kind === 'entry-too-large') {
      throw new RefusedError({ error: `entry ${answer.entryId} is ${answer.bytes} bytes, over the ${answer.capBytes}-byte pull response cap`, code: 'entry_too_large', entry_id: answer.entryId })
    }
    return answer.payload
  }, maxPullResponseBytes, (request) => pullRoomWanted(request, 'SyncPull', 1024))

  const push = (wire: WireVersion) => exchange('entries-push', maxPushRequestBytes, init.pushRequestTimeoutMs ?? 2 * minuteMs, async (request, peerId) => {
    const { ack, result, malformed } = await servePush(core, request, { wire, peerId })
    if (malformed != null) throw new RefusedError({ error: malformed, code: 'malformed' })
    // What a peer's push brought is a change here as much as a pull is: said, and only when something was stored.
    if (result.inserted > 0) log(`received: peer=${peerId} pushed entries inserted=${result.inserted} ignored=${result.ignored}`)
    if (result.rejected.length > 0) counted.line(`entries-push ${peerId} rejected`, `p2p: entries-push: rejected ${result.rejected.length} invalid entries from ${peerId} (first: ${result.rejected[0]!.reason})`)
    if ((result.clamped ?? 0) > 0) counted.line(`entries-push ${peerId} clamped`, `p2p: entries-push: ${result.clamped!} entries from ${peerId} stamped more than a day ahead stored at the receive time (marked)`)
    return ack
  })

  const protocols: string[] = []
  const ids: Record<WireVersion, [string, string]> = { 1: [syncPullProtocol, entriesPushProtocol], 2: [syncPullProtocolV2, entriesPushProtocolV2], 3: [syncPullProtocolV3, entriesPushProtocolV3], 4: [syncPullProtocolV4, entriesPushProtocolV4] }
  for (const wire of init.wireVersions ?? [1, 2, 3, 4]) {
    const [pullId, pushId] = ids[wire]
    await node.handle(pullId, pull(wire), options)
    await node.handle(pushId, push(wire), options)
    protocols.push(pullId, pushId)
  }
  const stopSigning = init.signer != null ? startSignAhead({ dbPath: init.dbPath, pool: init.pool, signer: init.signer, log }) : undefined
  return async () => {
    stopSigning?.()
    await node.unhandle(protocols)
    counted.flush()
  }
}

/**
 * Sends an error document and half-closes. The peer may still be sending (an oversized request): stop reading,
 * and reset the stream if it has not ended shortly after, so a hostile sender cannot keep it open.
 */
async function replyAndClose (stream: Stream, doc: Uint8Array, graceMs = 5 * secondMs): Promise<void> {
  try {
    await stream.closeRead()
    await writeAll(stream, doc)
    await stream.close({ signal: AbortSignal.timeout(graceMs) })
  } catch (err) {
    stream.abort(err instanceof Error ? err : new Error(String(err)))
    return
  }
  if (stream.status === 'open' || stream.status === 'closing') {
    const timer = setTimeout(() => stream.abort(new Error('peer kept sending after its request was refused')), graceMs)
    timer.unref?.()
    stream.addEventListener('close', () => clearTimeout(timer), { once: true })
  }
}
