/**
 * `rr p2p-sync` and `rr http-sync` as one flow: open the store and the worker pool, build the connector for the
 * transport, start the supervised actors, print one summary line per peer per round, stop cleanly on SIGINT.
 */
import type { InspectionEvent } from 'xstate'
import type { DiscoveredPeers } from '../sync/types.js'
import type { PeerOutcome, PeerTarget, SyncOptions } from '../sync/types.js'
import type { Settings } from '../config/settings.js'
import { HttpTransport } from '../http/index.js'
import type { Database } from 'better-sqlite3'
import { entrySignerOf, loadOrCreateIdentity, trackerUserId } from '../config/keys.js'
import { showControls } from '../core/escape.js'
import { stopSignal } from '../lifecycle/stop-signal.js'
import type { EntrySigner } from '../core/signature.js'
import { createPeerNode, loadSwarmKey, peerIdOf, type PeerNode } from '../p2p/index.js'
import { DialError } from '../protocol/errors.js'
import { drainSpoolInto, openDatabase } from '../store/db.js'
import { migratePullCursorKey } from '../store/peers.js'
import { watchSpool } from '../store/spool-watch.js'
import { targetsFromMultiaddrs } from '../sync/targets.js'
import { WorkerPool } from '../../workers/pool.js'
import type { Connector } from '../../actors/connector.js'
import { createDiscovery, type Discovery } from '../../actors/discovery.js'
import { createP2PConnector } from '../../actors/p2p-connector.js'
import type { SyncLog } from '../../actors/peer-actors.js'
import { startSyncSystem } from '../../actors/system.js'

export interface SyncRunInit {
  settings: Settings
  options: SyncOptions
  /** Static peers: multiaddrs (p2p) or base URLs (http). */
  peers: string[]
  /** Relay multiaddr to fall back to. */
  relayAddr?: string
  /** Where the syncing node listens: DCUtR's simultaneous open needs a port to dial from. @default ['/ip4/0.0.0.0/tcp/0'] */
  listen?: string[]
  /** Where peers come from when `peers` is empty (trackers, peer book); set by the discovery work. */
  discover?: (signal: AbortSignal) => Promise<DiscoveredPeers>
  inspect?: (event: InspectionEvent) => void
}

export interface SyncRunOutput {
  /** Lines for the user: stdout gets summaries, stderr the log. */
  out: (line: string) => void
  err: (line: string) => void
  /** Show progress in place (a terminal). */
  tty: boolean
  /** Called once everything is loaded and the actors start (--stats measures from here). */
  started?: () => void
}

function makeLog (io: SyncRunOutput): SyncLog & { summary: (line: string) => void, clear: () => void } {
  let progressShown = false
  const clear = (): void => {
    if (progressShown) { process.stderr.write('\r\x1b[K'); progressShown = false }
  }
  // Log lines carry what peers sent (error documents, rejected entry ids): shown with control characters escaped.
  return {
    info: (line) => { clear(); io.err(showControls(line)) },
    summary: (line) => { clear(); io.out(showControls(line)) },
    clear,
    ...(io.tty ? { progress: (_key: string, text: string) => { process.stderr.write(`\r\x1b[K${text}`); progressShown = true } } : {})
  }
}

async function runWith (init: SyncRunInit, io: SyncRunOutput, connector: Connector, targets: PeerTarget[], log: ReturnType<typeof makeLog>, signer?: EntrySigner): Promise<number> {
  // This round pushes what was recorded up to now; under --watch the spool is watched too, so every later round
  // has the commands recorded meanwhile.
  const db = openDatabase(init.settings.dbPath)
  drainSpoolInto(db, init.settings.dbPath)
  const spool = init.options.watch ? watchSpool({ dbPath: init.settings.dbPath }, { log: log.info }) : undefined
  const pool = new WorkerPool()
  const failures = new Map<string, PeerOutcome>()
  io.started?.()
  const system = startSyncSystem({
    options: init.options,
    discoverPeers: init.discover ?? (async () => ({ targets })),
    ...(init.inspect != null ? { inspect: init.inspect } : {})
  }, {
    dbPath: init.settings.dbPath,
    db,
    pool,
    connector,
    deviceId: init.settings.deviceId,
    roundLimits: { maxEntries: init.settings.syncRoundMaxEntries, maxBytes: init.settings.syncRoundMaxBytes },
    ...(signer != null ? { signer } : {}),
    log: { info: log.info, summary: log.summary, ...(log.progress != null ? { progress: log.progress } : {}) },
    onRound: (outcome) => {
      if (outcome.ok) failures.delete(outcome.key)
      else failures.set(outcome.key, outcome)
    }
  })
  const stop = stopSignal({ onSignal: () => system.stop() })
  try {
    const output = await system.done
    log.clear()
    if (output.error != null) io.err(`rr: peer discovery failed: ${output.error.message}`)
    if (!init.options.watch && output.outcomes.length === 0) {
      io.err('rr: no peers to sync with: give --peers, or --trackers / trackers in the config')
      return 1
    }
    return init.options.watch ? 0 : (output.outcomes.some((o) => !o.ok) || output.error != null ? 1 : 0)
  } finally {
    stop.dispose()
    spool?.close()
    await pool.close()
    db.close()
  }
}

/** `rr p2p-sync`: returns the exit code (non-zero when any peer failed). */
export async function runP2PSync (init: SyncRunInit, io: SyncRunOutput): Promise<number> {
  // Never created here: a key made on this machine alone would be a network of one.
  const swarm = loadSwarmKey(init.settings.swarmKeyPath)
  // The persistent identity: peers (and DCUtR) can dial back a PeerId they have seen before, and it signs this
  // device's entries.
  const identity = await loadOrCreateIdentity(init.settings.p2pIdentityKeyPath)
  if (identity.created) io.err(`created identity key ${identity.path} (PeerId ${identity.peerId}): it signs the commands this device records`)
  const signer = entrySignerOf(identity)
  const targets = targetsFromMultiaddrs(init.peers, peerIdOf, init.relayAddr)
  let discovery: Discovery | undefined
  let discoveryDb: Database | undefined
  if (init.peers.length === 0) {
    // No --peers: the trackers (and the peer book when they fail) say who to sync with.
    discoveryDb = openDatabase(init.settings.dbPath)
    discovery = createDiscovery({
      trackers: init.settings.trackers,
      ...(init.settings.trackerToken != null ? { token: init.settings.trackerToken } : {}),
      userId: trackerUserId(init.settings, swarm),
      self: new Set([identity.peerId]),
      ...(init.relayAddr != null ? { relayAddr: init.relayAddr } : {}),
      db: discoveryDb,
      log: io.err
    })
  }
  if (init.peers.length > 0) {
    // Cursors stored by older manual syncs under the multiaddr move to the PeerId, once.
    const db = openDatabase(init.settings.dbPath)
    try {
      for (const t of targets) {
        if (migratePullCursorKey(db, t.addrs.flatMap((a) => [a, a.replace(/\/p2p\/[^/]+$/, '')]), t.peerId!)) io.err(`migrated cursor of ${t.peerId} from its multiaddr key`)
      }
    } finally {
      db.close()
    }
  }
  const log = makeLog(io)
  // A listening node: a peer behind NAT can only be punched to at an address it announced, and DCUtR dials from the
  // listen port (src/p2p/tcp-reuseport.ts).
  const node: PeerNode = await createPeerNode({ privateKey: identity.privateKey, psk: swarm.psk, listen: init.listen ?? ['/ip4/0.0.0.0/tcp/0'], log: log.info })
  try {
    const connector: Connector = { ...createP2PConnector({ node, log: log.info }), ...(discovery != null ? { refresh: discovery.refresh } : {}) }
    return await runWith(discovery != null ? { ...init, discover: discovery.discoverPeers } : init, io, connector, targets, log, signer)
  } finally {
    await node.stop()
    discoveryDb?.close()
  }
}

/** `rr http-sync`: the same engine over the HTTP debug transport. */
export async function runHttpSync (init: SyncRunInit, io: SyncRunOutput): Promise<number> {
  const targets: PeerTarget[] = init.peers.map((url) => ({ key: new HttpTransport(url).peerId, addrs: [url], source: 'url' as const }))
  const log = makeLog(io)
  const connector: Connector = {
    dialDirect: async (_target, addr, signal) => {
      const transport = new HttpTransport(addr, init.settings.httpToken != null ? { token: init.settings.httpToken } : {})
      signal.throwIfAborted()
      return { transport, path: 'http', addr, connectionId: 'http' }
    },
    dialRelay: async () => { throw new DialError('the HTTP transport has no relay', { permanent: true }) },
    watchUpgrade: () => () => {}
  }
  return await runWith(init, io, connector, targets, log)
}
