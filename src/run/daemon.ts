/**
 * `rr daemon`: one process per device. ONE libp2p node with the persistent identity serves pull/push (like
 * p2p-serve) and dials every known peer (like p2p-sync --push --watch) under the same supervised actors; the
 * spool is drained as commands arrive and each drain that brought fresh entries starts a round at once; the
 * trackers keep this device registered and the relay reservation is kept. One daemon per database (a lock held
 * for the process's life); `<db>.daemon.json` says what it does for sync-status and doctor.
 */
import '../polyfill.js'
import { setTimeout as sleep } from 'node:timers/promises'
import type { Connection } from '@libp2p/interface'
import type { InspectionEvent } from 'xstate'
import type { DiscoveredPeers, Link, PeerOutcome } from '../sync/types.js'
import type { Settings } from '../config/settings.js'
import { entrySignerOf, loadOrCreateIdentity, loadSwarmKey, trackerUserId } from '../config/keys.js'
import { createQuietLog } from '../daemon/quiet-log.js'
import { announcedAddrs, confirmObservedAddr, createPeerNode, registrableAddrs, tcpListenPorts, type PeerNode } from '../p2p/node.js'
import { serveSync } from '../p2p/handlers.js'
import { serveTombstones } from '../p2p/tombstone-handlers.js'
import { RelayReservation } from '../p2p/relay-reservation.js'
import { stopSignal } from '../lifecycle/stop-signal.js'
import { errorMessage } from '../protocol/errors.js'
import { acquireDaemonLock, writeDaemonStatusFile, type DaemonStatusFile } from '../store/daemon-lock.js'
import { drainSpoolInto, openDatabase } from '../store/db.js'
import { watchSpool } from '../store/spool-watch.js'
import { Registrar } from '../tracker/registrar.js'
import { rustoryVersion } from '../version.js'
import { WorkerPool } from '../../workers/pool.js'
import type { Connector } from '../../actors/connector.js'
import { createDiscovery } from '../../actors/discovery.js'
import { createP2PConnector } from '../../actors/p2p-connector.js'
import { startSyncSystem } from '../../actors/system.js'
import { listenError } from '../core/errors.js'
import { secondMs } from '../core/units.js'
import { ByteBudget } from '../p2p/byte-budget.js'

export interface DaemonInit {
  settings: Settings
  /** @default ['/ip4/0.0.0.0/tcp/8845'] */
  listen: string[]
  /** Seconds between rounds when nothing happens. @default 60 */
  intervalSec: number
  /** Entries per batch. @default 1000 */
  limit: number
  inspect?: (event: InspectionEvent) => void
}

export interface DaemonOutput {
  /** Addresses and the start/stop lines (stdout). */
  out: (line: string) => void
  /** The log (stderr). */
  log: (line: string) => void
}

/**
 * Keeps the connection open at the end of a round: the same connection also carries the other side's rounds and
 * our serving of them, and an idle libp2p connection costs nothing; the connection manager prunes it if needed.
 * Everything but `close` is the transport's own, read from it each time (its getters on it, its methods bound to
 * it): a wrapper that listed what it forwarded lost `wire`, `pullTombstones` and `pushTombstones`, so the daemon
 * ingested every pull as 1.0.0 (signatures dropped, all unverified), pushed in the 2.0.0 form (no chunks), and never
 * exchanged tombstones (test/integration/daemon.test.ts).
 */
function keepOpen (link: Link): Link {
  const transport = new Proxy(link.transport, {
    get (target, property) {
      if (property === 'close') return async () => {}
      const value: unknown = Reflect.get(target, property, target)
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value
    }
  })
  return { ...link, transport }
}

export async function runDaemon (init: DaemonInit, io: DaemonOutput): Promise<void> {
  const { settings } = init
  const stop = stopSignal()
  const swarm = loadSwarmKey(settings.swarmKeyPath)
  if (swarm.looseMode) io.log(`warning: ${swarm.path} is readable by other users; run: chmod 600 ${swarm.path}`)
  const lock = acquireDaemonLock(settings.dbPath)
  const quiet = createQuietLog()
  const log = (line: string): void => { if (quiet.accept(line)) io.log(line) }
  const identity = await loadOrCreateIdentity(settings.p2pIdentityKeyPath)
  if (identity.created) io.log(`created identity key ${identity.path} (PeerId ${identity.peerId})`)
  // The identity also signs the commands this device records (docs/TRUST.md).
  const signer = entrySignerOf(identity)
  const userId = trackerUserId(settings, swarm)
  const db = openDatabase(settings.dbPath)
  // The first round pushes what was recorded while no daemon ran; the spool watcher brings the later commands.
  drainSpoolInto(db, settings.dbPath)
  const pool = new WorkerPool()
  let node: PeerNode | undefined
  try {
    node = await createPeerNode({ privateKey: identity.privateKey, psk: swarm.psk, listen: init.listen, inbound: { log }, log })
    const budget = new ByteBudget()
    await serveSync(node, { dbPath: settings.dbPath, pool, log, signer, budget })
    await serveTombstones(node, { dbPath: settings.dbPath, pool, log, budget })
  } catch (err) {
    await node?.stop()
    await pool.close()
    db.close()
    lock.release()
    throw listenError(err, init.listen)
  }
  const started: PeerNode = node
  const self = started.peerId.toString()

  let reservation: RelayReservation | undefined
  let registrar: Registrar | undefined
  if (settings.relayAddr != null) {
    try {
      reservation = new RelayReservation(started, { relay: settings.relayAddr, log, onRenewed: () => registrar?.changed() })
      await reservation.start()
    } catch (err) {
      io.log(`warning: not using relay ${settings.relayAddr}: ${errorMessage(err)} (direct connections only)`)
      reservation = undefined
    }
  }
  const listenAddrs = announcedAddrs(started)
  for (const addr of listenAddrs) io.out(`p2p listen: ${addr}`)
  if (settings.trackers.length > 0) {
    registrar = new Registrar({
      trackers: settings.trackers,
      ...(settings.trackerToken != null ? { token: settings.trackerToken } : {}),
      peerId: self,
      sign: async (bytes) => await identity.privateKey.sign(bytes),
      meta: { device_id: settings.deviceId, hostname: settings.hostname, user_id: userId, version: rustoryVersion() },
      addrs: () => registrableAddrs(started),
      listenPorts: () => tcpListenPorts(started),
      onObservedAddr: (addr) => {
        try {
          confirmObservedAddr(started, addr)
          log(`p2p: external address candidate from a tracker: ${addr}`)
        } catch (err) {
          log(`warning: cannot use the tracker's observed address ${addr}: ${errorMessage(err)}`)
        }
      },
      log
    })
    registrar.start()
  } else {
    io.log('warning: no trackers configured (trackers in config.toml, RUSTORY_TRACKERS or --trackers): syncing only with peers in the peer book')
  }

  const status: DaemonStatusFile = { pid: process.pid, started_unix: Math.floor(Date.now() / 1000), peer_id: self, listen: listenAddrs }
  const outcomes = new Map<string, boolean>()
  const saveStatus = (): void => {
    try { writeDaemonStatusFile(settings.dbPath, status) } catch (err) { log(`warning: cannot write the daemon status file: ${errorMessage(err)}`) }
  }
  saveStatus()

  const discovery = createDiscovery({
    trackers: settings.trackers,
    ...(settings.trackerToken != null ? { token: settings.trackerToken } : {}),
    userId,
    self: new Set([self]),
    ...(settings.relayAddr != null ? { relayAddr: settings.relayAddr } : {}),
    db,
    log
  })
  const p2p = createP2PConnector({ node: started, log })
  const connector: Connector = {
    dialDirect: async (target, addr, signal) => keepOpen(await p2p.dialDirect(target, addr, signal)),
    dialRelay: async (target, signal) => keepOpen(await p2p.dialRelay(target, signal)),
    watchUpgrade: p2p.watchUpgrade,
    refresh: discovery.refresh
  }
  // The first discovery asks the trackers for peers once ours is registered (Registrar.firstRound), at most 5 s late.
  let firstRegistration = registrar?.firstRound()
  const discoverPeers = async (signal: AbortSignal): Promise<DiscoveredPeers> => {
    if (firstRegistration != null) {
      await Promise.race([firstRegistration, sleep(5 * secondMs, undefined, { signal, ref: false }).catch(() => {})])
      firstRegistration = undefined
    }
    return await discovery.discoverPeers(signal)
  }
  const system = startSyncSystem({
    options: { push: true, watch: true, intervalSec: init.intervalSec, limit: init.limit },
    discoverPeers,
    onForget: (key) => { outcomes.delete(key) },
    ...(init.inspect != null ? { inspect: init.inspect } : {})
  }, {
    dbPath: settings.dbPath,
    db,
    pool,
    connector,
    deviceId: settings.deviceId,
    roundLimits: { maxEntries: settings.syncRoundMaxEntries, maxBytes: settings.syncRoundMaxBytes },
    signer,
    log: { info: log, summary: log },
    onRound: (outcome: PeerOutcome) => {
      outcomes.set(outcome.key, outcome.ok)
      status.last_round_unix = Math.floor(Date.now() / 1000)
      status.peers_ok = [...outcomes.values()].filter((ok) => ok).length
      status.peers_failed = outcomes.size - status.peers_ok
      saveStatus()
    }
  })

  // A command recorded here: drained into the database, then pushed to every peer at once.
  const spool = watchSpool({ dbPath: settings.dbPath }, {
    log,
    onDrain: (outcome) => { if (outcome.inserted > 0) system.syncNow() }
  })
  // A peer we do not supervise yet connected (a device that just joined): ask the trackers again, soon.
  let rediscoverTimer: NodeJS.Timeout | undefined
  const relayId = settings.relayAddr?.split('/p2p/').pop()
  const onConnect = (event: CustomEvent<Connection>): void => {
    const peer = event.detail.remotePeer.toString()
    // A peer we gave up on for a while dialed us: it is back, so its backoff ends.
    if (outcomes.get(peer) === false) system.peerSeen(peer)
    if (outcomes.has(peer) || peer === relayId || rediscoverTimer != null || settings.trackers.length === 0) return
    rediscoverTimer = setTimeout(() => { rediscoverTimer = undefined; system.rediscover() }, 1 * secondMs)
    rediscoverTimer.unref()
  }
  started.addEventListener('connection:open', onConnect)
  const onUpdate = (): void => { registrar?.changed() }
  started.addEventListener('self:peer:update', onUpdate)
  io.out(`daemon: started peer=${self} db=${settings.dbPath} trackers=${settings.trackers.length} relay=${settings.relayAddr ?? '-'} interval=${init.intervalSec}s`)

  await stop.until(async () => {
    started.removeEventListener('connection:open', onConnect)
    started.removeEventListener('self:peer:update', onUpdate)
    if (rediscoverTimer != null) clearTimeout(rediscoverTimer)
    spool.close()
    system.stop()
    reservation?.stop()
    await registrar?.stop()
    await started.stop()
    await pool.close()
    db.close()
    status.stopped_unix = Math.floor(Date.now() / 1000)
    saveStatus()
    lock.release()
  })
  io.out('daemon: stopped')
}
