/**
 * The long-running servers behind `rr p2p-serve` and `rr relay-serve`: load keys, start the node, print its
 * addresses, serve until SIGINT/SIGTERM, then close everything once.
 */
import { listenError } from '../core/errors.js'
import '../polyfill.js'
import { entrySignerOf, loadOrCreateIdentity, loadOrCreateSwarmKey, loadSwarmKey, swarmDiscoveryId, swarmKeyBytes, type SwarmKey } from '../config/keys.js'
import { stopSignal } from '../lifecycle/stop-signal.js'
import { errorMessage } from '../protocol/errors.js'
import { drainSpoolInto, openDatabase } from '../store/db.js'
import { watchSpool, type SpoolWatcher } from '../store/spool-watch.js'
import { WorkerPool } from '../../workers/pool.js'
import { serveSync } from '../p2p/handlers.js'
import { serveTombstones } from '../p2p/tombstone-handlers.js'
import { Registrar } from '../tracker/registrar.js'
import type { PeerMeta } from '../tracker/types.js'
import { announcedAddrs, confirmObservedAddr, createPeerNode, createRelayNode, registrableAddrs, tcpListenPorts, type RelayNodeInit } from '../p2p/node.js'
import { RelayReservation } from '../p2p/relay-reservation.js'
import { ByteBudget } from '../p2p/byte-budget.js'

export interface ServeOutput {
  /** Address lines and status (stdout). */
  out: (line: string) => void
  /** Warnings and per-request log lines (stderr). */
  log: (line: string) => void
}

export interface P2PServeInit {
  dbPath: string
  swarmKeyPath: string
  identityKeyPath: string
  /** @default ['/ip4/0.0.0.0/tcp/8845'] */
  listen: string[]
  /** Also reachable through this relay (`<relay>/p2p-circuit`). */
  relay?: string
  /** Tracker URLs to register with (and keep registered while serving). @default [] */
  trackers?: string[]
  /** Sent to the trackers as a bearer token (from tracker_token / RUSTORY_TRACKER_TOKEN, never argv). */
  trackerToken?: string
  /** What the trackers show about this device. */
  meta?: PeerMeta
  /** meta.user_id was not configured: the trackers get the swarm's discovery id instead. @default false */
  swarmUserId?: boolean
}

export type RelayServeInit = { swarmKeyPath: string, identityKeyPath: string } &
  Pick<RelayNodeInit, 'listen' | 'announce' | 'maxReservations' | 'reservationTtlMs' | 'dataLimitBytes' | 'durationLimitMs'>

function noteNewSwarmKey (swarm: SwarmKey, io: ServeOutput): void {
  if (swarm.created) io.log(`created a new swarm key at ${swarm.path} (fingerprint ${swarm.fingerprint}): copy this file to every machine of your network`)
  if (swarm.looseMode) io.log(`warning: ${swarm.path} is readable by other users; run: chmod 600 ${swarm.path}`)
}

export async function runP2PServe (init: P2PServeInit, io: ServeOutput): Promise<void> {
  const stop = stopSignal()
  // Never created here: a key made on this machine alone would be a network of one.
  const swarm = loadSwarmKey(init.swarmKeyPath)
  noteNewSwarmKey(swarm, io)
  const identity = await loadOrCreateIdentity(init.identityKeyPath)
  if (identity.created) io.log(`created identity key ${identity.path} (PeerId ${identity.peerId})`)
  // Opened here so a bad or too-new database fails now, with its own message; workers open their own handles.
  // The commands recorded up to now are served from the first pull; the watcher below brings the later ones.
  const db = openDatabase(init.dbPath)
  drainSpoolInto(db, init.dbPath)
  const pool = new WorkerPool()
  let node
  let spool: SpoolWatcher | undefined
  try {
    node = await createPeerNode({ privateKey: identity.privateKey, psk: swarm.psk, listen: init.listen, inbound: { log: io.log }, log: io.log })
    const budget = new ByteBudget()
    await serveSync(node, { dbPath: init.dbPath, pool, log: io.log, signer: entrySignerOf(identity), budget })
    await serveTombstones(node, { dbPath: init.dbPath, pool, log: io.log, budget })
    // Commands recorded on this device while serving reach the database (and so the pulling peers) in moments.
    spool = watchSpool({ dbPath: init.dbPath }, { log: io.log })
  } catch (err) {
    spool?.close()
    await node?.stop()
    await pool.close()
    db.close()
    throw listenError(err, init.listen)
  }
  const started = node
  let registrar: Registrar | undefined
  let reservation: RelayReservation | undefined
  if (init.relay != null) {
    try {
      reservation = new RelayReservation(started, { relay: init.relay, log: io.log, onRenewed: () => registrar?.changed() })
      await reservation.start()
    } catch (err) {
      io.log(`warning: not using relay ${init.relay}: ${errorMessage(err)} (serving direct connections only)`)
    }
  }
  for (const addr of announcedAddrs(node)) io.out(`p2p listen: ${addr}`)
  const trackers = init.trackers ?? []
  if (trackers.length > 0) {
    registrar = new Registrar({
      trackers,
      ...(init.trackerToken != null ? { token: init.trackerToken } : {}),
      peerId: started.peerId.toString(),
      sign: async (bytes) => await identity.privateKey.sign(bytes),
      meta: { ...(init.meta ?? { device_id: '', hostname: '', user_id: '', version: '' }), ...(init.swarmUserId === true ? { user_id: swarmDiscoveryId(swarmKeyBytes(swarm)) } : {}) },
      addrs: () => registrableAddrs(started),
      listenPorts: () => tcpListenPorts(started),
      onObservedAddr: (addr) => {
        try {
          confirmObservedAddr(started, addr)
          io.log(`p2p: external address candidate from a tracker: ${addr}`)
        } catch (err) {
          io.log(`warning: cannot use the tracker's observed address ${addr}: ${errorMessage(err)}`)
        }
      },
      log: io.log
    })
    registrar.start()
  }
  // Addresses change when a reservation comes or goes, an observed address is confirmed, an interface changes.
  const onUpdate = (): void => { registrar?.changed() }
  started.addEventListener('self:peer:update', onUpdate)
  await stop.until(async () => {
    started.removeEventListener('self:peer:update', onUpdate)
    spool?.close()
    reservation?.stop()
    await registrar?.stop()
    await started.stop()
    await pool.close()
    db.close()
  })
  io.out('p2p-serve stopped')
}

export async function runRelayServe (init: RelayServeInit, io: ServeOutput): Promise<void> {
  const stop = stopSignal()
  const swarm = loadOrCreateSwarmKey(init.swarmKeyPath)
  noteNewSwarmKey(swarm, io)
  const identity = await loadOrCreateIdentity(init.identityKeyPath)
  if (identity.created) io.log(`created relay identity key ${identity.path} (PeerId ${identity.peerId})`)
  const node = await createRelayNode({
    privateKey: identity.privateKey,
    psk: swarm.psk,
    listen: init.listen,
    inbound: { log: io.log },
    ...(init.announce != null ? { announce: init.announce } : {}),
    ...(init.maxReservations != null ? { maxReservations: init.maxReservations } : {}),
    ...(init.reservationTtlMs != null ? { reservationTtlMs: init.reservationTtlMs } : {}),
    ...(init.dataLimitBytes != null ? { dataLimitBytes: init.dataLimitBytes } : {}),
    ...(init.durationLimitMs != null ? { durationLimitMs: init.durationLimitMs } : {})
  }).catch((err: unknown) => { throw listenError(err, init.listen) })
  for (const addr of announcedAddrs(node)) io.out(`relay listen: ${addr}`)
  await stop.until(async () => { await node.stop() })
  io.out('relay-serve stopped')
}
