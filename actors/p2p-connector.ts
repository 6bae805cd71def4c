/**
 * The libp2p connector: direct and relayed dials through one local node, and the DCUtR watch — DCUtR's own outcome
 * for the peer (src/p2p/dcutr-outcome.ts) moves a relayed link to the direct connection, or keeps it on the relay.
 */
import type { Connection } from '@libp2p/interface'
import type { PeerSyncEvent } from '../machines/peer-sync.machine.js'
import type { Link, PeerTarget } from '../src/sync/types.js'
import { dialDirect, dialRelay, isRelayed, P2PTransport, type PeerNode } from '../src/p2p/index.js'
import { DialError } from '../src/protocol/errors.js'
import type { Connector } from './connector.js'
import { secondMs } from '../src/core/units.js'

/**
 * How long a failed DCUtR attempt answered here waits for the other side's next attempt before it counts as final:
 * one attempt's timeout (5 s in @libp2p/dcutr) and a second. The other side starts the next attempt at once, but
 * its stream may be refused here while the last one closes (DCUtR takes one inbound stream at a time).
 */
const retryGraceMs = 6 * secondMs

export interface P2PConnectorInit {
  node: PeerNode
  log: (line: string) => void
  /** How long to wait for any DCUtR outcome before calling the upgrade failed. @default 30 s */
  upgradeTimeoutMs?: number
  /** Per-dial timeout. @default 10 s */
  dialTimeoutMs?: number
}

function linkOf (connection: Connection, transport: P2PTransport, addr: string, path?: Link['path']): Link {
  return { transport, path: path ?? transport.path, addr, connectionId: connection.id }
}

export function createP2PConnector (init: P2PConnectorInit): Connector {
  const { node, log } = init
  const dialTimeoutMs = init.dialTimeoutMs ?? 10 * secondMs
  return {
    dialDirect: async (_target, addr, signal) => {
      const { transport, connection } = await dialDirect(node, addr, { signal, timeoutMs: dialTimeoutMs })
      return linkOf(connection, transport, addr)
    },
    dialRelay: async (target, signal) => {
      if (target.relayAddr == null || target.peerId == null) throw new DialError('no relay configured (--relay or relay_addr)', { permanent: true })
      const { transport, connection } = await dialRelay(node, target.relayAddr, target.peerId, { signal, timeoutMs: dialTimeoutMs })
      return linkOf(connection, transport, `${target.relayAddr}/p2p-circuit/p2p/${target.peerId}`, 'relay')
    },
    watchUpgrade: (target: PeerTarget, link: Link, sendBack: (event: PeerSyncEvent) => void) => {
      const peerId = target.peerId ?? link.transport.peerId
      const waitMs = init.upgradeTimeoutMs ?? 30 * secondMs
      let settled = false
      let grace: ReturnType<typeof setTimeout> | undefined
      const finish = (): void => {
        settled = true
        clearTimeout(timer)
        clearTimeout(grace)
        stopListening()
      }
      const upgradeTo = (connection: Connection): void => {
        if (settled) return
        finish()
        sendBack({ type: 'dcutr.upgraded', link: linkOf(connection, new P2PTransport(connection), connection.remoteAddr.toString(), 'dcutr') })
        // DCUtR closes the relayed connection itself once it has the direct one (not after a unilateral upgrade
        // seen here); close it in any case, after its streams end, and say so.
        const relayedConnection = link.transport instanceof P2PTransport ? link.transport.connection : undefined
        if (relayedConnection != null) {
          void link.transport.close().then(() => {
            if (relayedConnection.status === 'closed') log(`dcutr: relayed connection ${relayedConnection.id} to ${peerId} closed`)
          })
        }
      }
      // The node logs every outcome (both halves of DCUtR, see src/p2p/dcutr-outcome.ts); here they drive the machine.
      const stopListening = node.services.dcutrOutcomes.on((outcome) => {
        if (settled || outcome.peer !== peerId) return
        if (outcome.ok && outcome.connection != null) {
          upgradeTo(outcome.connection)
          return
        }
        // The side that dialed through the relay answers one DCUtR attempt at a time, and the other side retries
        // (3 attempts, no pause): a failed attempt here is final only when no other one follows within the grace.
        clearTimeout(grace)
        const fail = (): void => {
          if (settled) return
          // Another attempt is under way: its own outcome decides.
          if (outcome.role === 'dialer' && node.services.dcutrOutcomes.running.has(peerId)) {
            grace = setTimeout(fail, retryGraceMs)
            return
          }
          finish()
          sendBack({ type: 'dcutr.failed', error: { name: 'DcutrError', message: outcome.error ?? 'unknown', permanent: false, step: 'dcutr' } })
        }
        if (outcome.role === 'dialer' && outcome.retryable !== false) grace = setTimeout(fail, retryGraceMs)
        else fail()
      })
      // The other side runs DCUtR; when it never does (an old rustory, or no DCUtR there), stop waiting.
      const timer = setTimeout(() => {
        if (settled) return
        finish()
        const error = `no DCUtR attempt from the peer within ${Math.round(waitMs / secondMs)} s (the side that received the relayed connection starts it)`
        log(`dcutr: upgrade failed: peer=${peerId} error=${error}`)
        sendBack({ type: 'dcutr.failed', error: { name: 'DcutrError', message: error, permanent: false, step: 'dcutr' } })
      }, waitMs)
      timer.unref?.()
      // DCUtR may have finished before we started watching.
      const existing = node.getConnections().find((c) => c.remotePeer.toString() === peerId && !isRelayed(c) && c.status === 'open')
      if (existing != null) queueMicrotask(() => upgradeTo(existing))
      return () => {
        if (!settled) finish()
      }
    }
  }
}
