/**
 * The serving side of the tombstone protocols (docs/PROTOCOL.md, "Tombstones"): same framing, caps and refusals as
 * the entry protocols, registered beside them, so a node that lacks them (an older release) still serves entries.
 */
import type { Libp2p } from '@libp2p/interface'
import { maxPullRequestBytes, maxPullResponseBytes, maxPushRequestBytes, tombstonePullProtocol, tombstonePushProtocol } from '../protocol/constants.js'
import { decodeJson, parseSyncPull } from '../protocol/messages.js'
import { encodeTombstoneAck } from '../protocol/tombstones.js'
import { ByteBudget, defaultRequestBudgetBytes } from './byte-budget.js'
import { CountedLog } from './counted-log.js'
import { exchangeHandler, pullRoomWanted, RefusedError, type ServeSyncInit } from './handlers.js'
import { secondMs, minuteMs } from '../core/units.js'

/** Registers tombstone-pull and tombstone-push; the returned function unregisters them. */
export async function serveTombstones (node: Libp2p, init: ServeSyncInit): Promise<() => Promise<void>> {
  const log = init.log ?? (() => {})
  const options = { maxInboundStreams: init.maxInboundStreams ?? 8, runOnLimitedConnection: true }
  const counted = new CountedLog(log, init.logWindowMs != null ? { windowMs: init.logWindowMs } : {})
  const exchange = exchangeHandler(counted, init.exchangeTimeoutMs ?? 5 * minuteMs, init.budget ?? new ByteBudget(init.requestBudgetBytes ?? defaultRequestBudgetBytes))

  const pull = exchange('tombstone-pull', maxPullRequestBytes, init.pullRequestTimeoutMs ?? 30 * secondMs, async (request, _peer, room) => {
    const { cursor, limit } = parseSyncPull(decodeJson(request, 'TombstonePull'))
    const page = await init.pool.run({ tag: 'export-tombstones', dbPath: init.dbPath, cursor, limit, maxBytes: room })
    return page.payload
  }, maxPullResponseBytes, (request) => pullRoomWanted(request, 'TombstonePull', 256))

  const push = exchange('tombstone-push', maxPushRequestBytes, init.pushRequestTimeoutMs ?? 2 * minuteMs, async (request, peer) => {
    const result = await init.pool.run({ tag: 'ingest-tombstones-push', dbPath: init.dbPath, payload: request })
    if (result.error != null) throw new RefusedError({ error: result.error, code: 'malformed' })
    if (result.rejected.length > 0) counted.line(`tombstone-push ${peer} rejected`, `p2p: tombstone-push: rejected ${result.rejected.length} invalid tombstones from ${peer} (first: ${result.rejected[0]!.reason})`)
    if (result.deleted > 0) log(`p2p: tombstone-push: deleted ${result.deleted} entries (${result.added} new tombstones)`)
    return encodeTombstoneAck(result)
  })

  await node.handle(tombstonePullProtocol, pull, options)
  await node.handle(tombstonePushProtocol, push, options)
  return async () => {
    await node.unhandle([tombstonePullProtocol, tombstonePushProtocol])
    counted.flush()
  }
}
