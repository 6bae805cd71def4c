/**
 * The libp2p connector: direct and relayed dials through one local node, and the DCUtR watch — a relayed link
 * counts as upgraded when a direct (non-relayed) connection to the same peer opens while we hold it.
 */
import type { Connection } from '@libp2p/interface'
import type { PeerSyncEvent } from '../machines/peer-sync.machine.js'
import type { Link, PeerTarget } from '../machines/types.js'
import { dialDirect, dialRelay, isRelayed, P2PTransport, type PeerNode } from '../src/p2p/index.js'
import { DialError } from '../src/protocol/errors.js'
import type { Connector } from './connector.js'

const second = 1000

export interface P2PConnectorInit {
  node: PeerNode
  log: (line: string) => void
  /** How long to wait for DCUtR before calling the upgrade failed. @default 20 s */
  upgradeTimeoutMs?: number
  /** Per-dial timeout. @default 10 s */
  dialTimeoutMs?: number
}

function linkOf (connection: Connection, transport: P2PTransport, addr: string, path?: Link['path']): Link {
  return { transport, path: path ?? transport.path, addr, connectionId: connection.id }
}

export function createP2PConnector (init: P2PConnectorInit): Connector {
  const { node, log } = init
  const dialTimeoutMs = init.dialTimeoutMs ?? 10 * second
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
      let settled = false
      const finish = (): void => {
        settled = true
        clearTimeout(timer)
        node.removeEventListener('connection:open', onOpen)
      }
      const upgradeTo = (connection: Connection): void => {
        if (settled) return
        finish()
        log(`dcutr: upgraded to direct: peer=${peerId} connection_id=${connection.id}`)
        sendBack({ type: 'dcutr.upgraded', link: linkOf(connection, new P2PTransport(connection), connection.remoteAddr.toString(), 'dcutr') })
      }
      const onOpen = (event: CustomEvent<Connection>): void => {
        const connection = event.detail
        if (connection.remotePeer.toString() === peerId && !isRelayed(connection)) upgradeTo(connection)
      }
      const timer = setTimeout(() => {
        if (settled) return
        finish()
        const error = `no direct connection within ${Math.round((init.upgradeTimeoutMs ?? 20 * second) / second)} s (hole punching needs public addresses on both sides)`
        log(`dcutr: upgrade failed: peer=${peerId} error=${error}`)
        sendBack({ type: 'dcutr.failed', error: { name: 'DcutrError', message: error, permanent: false, step: 'dcutr' } })
      }, init.upgradeTimeoutMs ?? 20 * second)
      timer.unref?.()
      node.addEventListener('connection:open', onOpen)
      // DCUtR may have finished before we started watching.
      const existing = node.getConnections().find((c) => c.remotePeer.toString() === peerId && !isRelayed(c) && c.status === 'open')
      if (existing != null) queueMicrotask(() => upgradeTo(existing))
      return () => {
        if (settled) return
        finish()
        // The round ended (synced over the relay) before hole punching produced a direct connection.
        log(`dcutr: upgrade failed: peer=${peerId} error=no direct connection before the sync round ended; synced over the relay`)
      }
    }
  }
}
