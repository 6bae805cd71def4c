/**
 * createLibp2p for the two kinds of node rustory runs: a peer (every device: TCP + circuit relay transport, inside
 * the private network) and a relay (`rr relay-serve`). See LIBP2P.md for why each setting is what it is.
 */
import '../polyfill.js'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { circuitRelayServer, circuitRelayTransport } from '@libp2p/circuit-relay-v2'
import { dcutr } from '@libp2p/dcutr'
import { identify } from '@libp2p/identify'
import type { ComponentLogger, Libp2p, PrivateKey } from '@libp2p/interface'
import { tcp } from '@libp2p/tcp'
import { isPrivate } from '@libp2p/utils'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import { createLibp2p, type Libp2pOptions } from 'libp2p'
import { RustoryError } from '../core/errors.js'
import { DcutrOutcomes, observedDcutr, outcomeLine, relayed } from './dcutr-outcome.js'
import { reuseportTcp, type DialPlan } from './tcp-reuseport.js'
import { InboundGuard, type InboundGuardInit } from './inbound-guard.js'
import { privateNetwork } from './pnet.js'
import { cipherImplementation, type CipherImplementation } from './xsalsa20.js'
import { minuteMs, secondMs } from '../core/units.js'

/** What the peer node needs from libp2p's internals at run time (captured by a tiny service). */
interface InternalComponents {
  transportManager: {
    listen: (addrs: Multiaddr[]) => Promise<void>
    getListeners: () => InternalListener[]
    /** Listen addresses, 0.0.0.0 expanded to every interface address. */
    getAddrs: () => Multiaddr[]
  }
  addressManager: {
    confirmObservedAddr: (addr: Multiaddr, options?: { type?: 'observed' | 'transport' | 'ip-mapping' | 'dns-mapping' }) => void
    /** Candidates seen by others but not confirmed. */
    getObservedAddrs: () => Multiaddr[]
  }
}

/** A transport listener; a circuit-relay one also has `listen()` and the reservation store it shares. */
interface InternalListener {
  getAddrs: () => Multiaddr[]
  listen: (addr: Multiaddr) => Promise<void>
  reservationStore?: unknown
}

/**
 * libp2p's internals rustory relies on changed shape: the installed libp2p is not the release rustory pins and was
 * tested with. Permanent; the fix is to reinstall rustory so it gets its own versions.
 */
export class Libp2pInternalsError extends RustoryError {
  static override readonly name = 'Libp2pInternalsError'
  override readonly name = 'Libp2pInternalsError'
  constructor (what: string) {
    super(`libp2p's internals changed: ${what}; rustory pins libp2p ${testedLibp2p} and was tested with it (reinstall rustory, e.g. npm install -g rustory, rather than upgrading libp2p under it)`, { exitCode: 2, permanent: true })
  }
}

/** The libp2p release the suite ran (package.json pins it exactly). */
export const testedLibp2p = '3.3.11'

/** The methods rustory calls on libp2p's components, which are not part of libp2p's public API. */
const requiredInternals: Array<[keyof InternalComponents, string[]]> = [
  ['transportManager', ['listen', 'getListeners', 'getAddrs']],
  ['addressManager', ['confirmObservedAddr', 'getObservedAddrs']]
]

/** Throws Libp2pInternalsError naming the first internal that is missing or not a function. */
export function checkInternals (components: unknown): void {
  for (const [component, methods] of requiredInternals) {
    const value = (components as Record<string, unknown> | undefined)?.[component] as Record<string, unknown> | undefined
    if (value == null) throw new Libp2pInternalsError(`components.${component} is missing`)
    for (const method of methods) {
      if (typeof value[method] !== 'function') throw new Libp2pInternalsError(`components.${component}.${method}() is missing`)
    }
  }
}

/**
 * Captures the transport and address managers so relay listening and observed addresses work after start; checks
 * them when the node is created, so a changed libp2p fails at start-up with a named error, not mid-sync.
 */
class Internals {
  readonly [Symbol.toStringTag] = '@rustory/internals'
  constructor (readonly components: InternalComponents) {
    checkInternals(components)
  }
}

export type PeerServices = {
  identify: ReturnType<ReturnType<typeof identify>>
  dcutr: ReturnType<ReturnType<typeof dcutr>>
  /** DCUtR's outcomes on this node (both halves of the protocol), see dcutr-outcome.ts. */
  dcutrOutcomes: DcutrOutcomes
  internals: Internals
}
export type PeerNode = Libp2p<PeerServices>

export interface PeerNodeInit {
  /** The node's identity (see loadOrCreateIdentity). */
  privateKey: PrivateKey
  /** The swarm key file's bytes in the standard format (SwarmKey.psk). */
  psk: Uint8Array
  /** Multiaddrs to listen on; empty for a dial-only node. @default [] */
  listen?: string[]
  /** A relay multiaddr (with /p2p/<id>): also listen on `<relay>/p2p-circuit`, so peers can reach us through it. */
  relay?: string
  /** Where libp2p's own debug logs go. @default libp2p's (the DEBUG environment variable) */
  logger?: ComponentLogger
  /**
   * Per-address dial timeout. A wrong swarm key makes about half of all dials hang until it passes, so it is
   * kept short. @default 5 s
   */
  dialTimeoutMs?: number
  /** A stream with no traffic for this long is reset. @default 60 s */
  streamInactivityMs?: number
  /**
   * Where the node's own events go: DCUtR outcomes (`dcutr: upgraded to direct: …` / `dcutr: upgrade failed: …`) and
   * public addresses learned from identify. @default nowhere
   */
  log?: (line: string) => void
  /**
   * Which dials leave from the listen port: only DCUtR's hole punches, or every dial (tests of the transport).
   * See tcp-reuseport.ts for why not every dial. @default 'punch'
   */
  dialFromListenPort?: 'punch' | 'always'
  /**
   * Replaces rustory's pnet protector (src/p2p/pnet.ts); tests pass @libp2p/pnet's own `preSharedKey({ psk })` to
   * stand for a device on rustory 0.1.0. @default privateNetwork({ psk })
   */
  connectionProtector?: Libp2pOptions['connectionProtector']
  /** Limits on inbound handshakes and where refusals are logged (see InboundGuard). @default its defaults */
  inbound?: InboundLimits
}

/** How a listening node treats connections still in their handshake. */
export interface InboundLimits extends Omit<InboundGuardInit, 'handshakeTimeoutMs' | 'now'> {
  /**
   * An inbound connection that has not finished pnet, Noise and yamux within this time is dropped. A loopback
   * handshake takes 70 ms; a loaded 2-vCPU machine was seen near 1 s. @default 5 s
   */
  handshakeTimeoutMs?: number
}

export interface RelayNodeInit {
  privateKey: PrivateKey
  psk: Uint8Array
  listen: string[]
  /** Public addresses to hand out in reservations (a relay behind a load balancer or NAT). @default [] */
  announce?: string[]
  /** @default 128 */
  maxReservations?: number
  /** How long a reservation lasts before the peer must renew it. @default 1 h */
  reservationTtlMs?: number
  /**
   * Bytes a relayed connection may carry (both directions) before the relay closes it; 0 lifts the limit
   * (the relayed connection is then not "limited"). @default 0 (unlimited)
   */
  dataLimitBytes?: number
  /** How long a relayed connection may last; 0 lifts the limit. @default 0 (unlimited) */
  durationLimitMs?: number
  logger?: ComponentLogger
  /** @default InboundGuard's defaults */
  inbound?: InboundLimits
}

/**
 * The most a yamux stream may have in flight towards us before we grant more. Yamux grows the window up to 16 MiB
 * by default; on a fast link the kernel then holds megabytes, libuv reads up to 32 x 64 KiB per socket event, and
 * all of it is deciphered (pnet, then Noise) and demultiplexed before a timer can run: 40-70 ms event-loop stalls
 * during a 1M-entry pull on this 2-vCPU VM. Capped at yamux's initial 256 KiB, the pull ran at the same speed and
 * the worst stall after the dial was 27-35 ms (`npm run bench`, BENCH_ONLY=sync). The cost is on long links: one
 * stream moves at most 256 KiB per round trip (2.5 MB/s at 100 ms; the pull loop keeps two streams going).
 */
export const streamWindowBytes = 256 * 1024

/**
 * Settings shared by peers and relays. On loopback every test peer shares one source IP, so the per-IP inbound
 * rate (default 5/s) and pending-connection limits are raised.
 */
function baseOptions (privateKey: PrivateKey, psk: Uint8Array, dialTimeoutMs: number, streamInactivityMs: number, logger?: ComponentLogger, inbound: InboundLimits = {}): Libp2pOptions {
  const implementation = pnetCipher()
  const handshakeTimeoutMs = inbound.handshakeTimeoutMs ?? 5 * secondMs
  const guard = new InboundGuard({ ...inbound, handshakeTimeoutMs })
  return {
    connectionGater: guard.gater(),
    privateKey,
    connectionEncrypters: [noise()],
    streamMuxers: [yamux({ streamOptions: { inactivityTimeout: streamInactivityMs, initialStreamWindowSize: streamWindowBytes, maxStreamWindowSize: streamWindowBytes } })],
    connectionProtector: privateNetwork({ psk, implementation }),
    connectionManager: {
      maxConnections: 512,
      inboundConnectionThreshold: 200,
      // The guard enforces the per-address and total limits (and logs them); libp2p's own total only backs it up.
      maxIncomingPendingConnections: 2 * (inbound.maxPending ?? 64),
      dialTimeout: dialTimeoutMs * 2,
      addressDialTimeout: dialTimeoutMs,
      inboundUpgradeTimeout: handshakeTimeoutMs
    },
    // The monitor pings every connection every 10 s and by default aborts it when a ping takes longer than its
    // adaptive timeout (≥ 5 s). A ping queues behind a 32 MiB batch in flight, so on a slow link or a busy machine
    // that killed healthy transfers. Liveness comes from the stream inactivity timeout and exchange deadlines.
    connectionMonitor: { abortConnectionOnPingFailure: false },
    ...(logger != null ? { logger } : {})
  }
}

export async function createPeerNode (init: PeerNodeInit): Promise<PeerNode> {
  const base = baseOptions(init.privateKey, init.psk, init.dialTimeoutMs ?? 5 * secondMs, init.streamInactivityMs ?? minuteMs, init.logger, init.inbound)
  const outcomes = new DcutrOutcomes()
  const node = await createLibp2p({
    ...base,
    ...(init.connectionProtector != null ? { connectionProtector: init.connectionProtector } : {}),
    addresses: { listen: init.listen ?? [] },
    // Dials leave from the listen port, so hole punching (DCUtR) works through port-preserving NATs.
    transports: [reuseportTcp(init.dialFromListenPort === 'always' ? {} : { dialPlan: (ma) => punchPlan(outcomes, ma) }), circuitRelayTransport()],
    services: {
      identify: identify(),
      dcutr: observedDcutr(outcomes) as ReturnType<typeof dcutr>,
      dcutrOutcomes: () => outcomes,
      internals: (components: InternalComponents) => new Internals(components)
    }
  })
  confirmListenAddrs(node)
  const log = init.log
  if (log != null) outcomes.on((outcome) => log(outcomeLine(outcome)))
  watchUnilateralUpgrades(node)
  learnObservedFromIdentify(node, log)
  if (init.relay != null) {
    try {
      await listenOnRelay(node, init.relay)
    } catch (err) {
      await node.stop()
      throw err
    }
  }
  return node
}

/** From the listen port (with DCUtR's role) while DCUtR is punching to this address's peer; otherwise as @libp2p/tcp. */
function punchPlan (outcomes: DcutrOutcomes, ma: Multiaddr): DialPlan {
  const peer = ma.getComponents().findLast((c) => c.name === 'p2p')?.value
  const punch = peer != null ? outcomes.punching.get(peer) : undefined
  return punch != null ? { fromListenPort: true, initiator: punch.initiator } : { fromListenPort: false }
}

/**
 * DCUtR's "unilateral upgrade": the side that received our relayed connection dials one of our public addresses
 * directly, and no DCUtR code runs here. A direct inbound connection from a peer we reach through a relay, while no
 * DCUtR exchange of ours runs with it, is that upgrade.
 */
function watchUnilateralUpgrades (node: PeerNode): void {
  const outcomes = node.services.dcutrOutcomes
  node.addEventListener('connection:open', (event) => {
    const connection = event.detail
    if (relayed(connection) || connection.direction !== 'inbound') return
    const peer = connection.remotePeer.toString()
    if (outcomes.running.has(peer)) return
    const viaRelay = node.getConnections(connection.remotePeer).some((c) => c !== connection && relayed(c) && c.direction === 'outbound' && c.status === 'open')
    if (viaRelay) outcomes.emit({ peer, ok: true, connection, role: 'unilateral' })
  })
}

/**
 * identify tells us the address each peer sees us at, and @libp2p/identify ignores it for TCP (js-libp2p issue 2620:
 * dials leave from ephemeral ports, so the port says nothing). The IP does: a public observed IP with each of our
 * listen ports is where a port-preserving NAT (the kind hole punching works through) maps our hole punches, since
 * DCUtR dials from the listen port (tcp-reuseport.ts). Confirm it, so identify and DCUtR announce it; the tracker's
 * observed_addr is used the same way (src/tracker/registrar.ts).
 */
function learnObservedFromIdentify (node: PeerNode, log?: (line: string) => void): void {
  const learned = new Set<string>()
  node.addEventListener('peer:identify', (event) => {
    const { observedAddr, connection } = event.detail
    if (observedAddr == null || relayed(connection)) return
    const ip = observedAddr.getComponents()[0]
    if (ip == null || (ip.name !== 'ip4' && ip.name !== 'ip6') || ip.value == null) return
    if (isPrivate(multiaddr(`/${ip.name}/${ip.value}/tcp/1`))) return
    for (const port of tcpListenPorts(node)) {
      const addr = multiaddr(`/${ip.name}/${ip.value}/tcp/${port}`)
      const key = addr.toString()
      if (learned.has(key)) continue
      learned.add(key)
      node.services.internals.components.addressManager.confirmObservedAddr(addr, { type: 'observed' })
      log?.(`p2p: public address from identify: ${key} (${connection.remotePeer.toString()} sees us at ${ip.value})`)
    }
  })
}

/**
 * Makes a reservation on the relay (listening on `<relay>/p2p-circuit`); resolves once it is made. Used again to
 * renew a reservation lost when the relay restarted (libp2p does not renew a configured one by itself): a circuit
 * listener left without addresses (by that loss, or by a failed attempt) is reused, so retrying for hours while a
 * relay is down does not pile up listeners.
 */
export async function listenOnRelay (node: PeerNode, relay: string): Promise<void> {
  const addr = multiaddr(relay)
  if (addr.getComponents().find((c) => c.name === 'p2p') == null) throw new Error(`relay address ${relay} must end with /p2p/<relay_peer_id>`)
  const circuit = addr.encapsulate('/p2p-circuit')
  const { transportManager } = node.services.internals.components
  const idle = transportManager.getListeners().find((l) => isCircuitListener(l) && l.getAddrs().length === 0)
  if (idle != null) {
    await idle.listen(circuit)
    return
  }
  await transportManager.listen([circuit])
  // The reuse above finds circuit listeners by their shape: if a release changed it, say so rather than pile them up.
  if (!transportManager.getListeners().some(isCircuitListener)) throw new Libp2pInternalsError('the circuit-relay listener no longer has reservationStore and listen()')
}

/** A circuit-relay transport listener, recognised by shape (libp2p does not export its class). */
function isCircuitListener (listener: InternalListener): boolean {
  return listener.reservationStore != null && typeof listener.listen === 'function'
}

/** Whether the node currently has a `/p2p-circuit` address through this relay (i.e. holds a reservation there). */
export function hasRelayAddr (node: PeerNode, relay: string): boolean {
  const relayId = multiaddr(relay).getComponents().findLast((c) => c.name === 'p2p')?.value
  if (relayId == null) return false
  return node.getMultiaddrs().some((a) => {
    const s = a.toString()
    return s.includes(`/p2p/${relayId}/p2p-circuit`)
  })
}

/** The TCP ports the node listens on (direct, not relayed). */
export function tcpListenPorts (node: Libp2p): number[] {
  const ports = new Set<number>()
  for (const a of node.getMultiaddrs()) {
    const parts = a.getComponents()
    if (parts.some((c) => c.name === 'p2p-circuit')) continue
    const tcpPart = parts.find((c) => c.name === 'tcp')
    if (tcpPart?.value != null) ports.add(Number(tcpPart.value))
  }
  return [...ports]
}

/**
 * What to tell a tracker: verified addresses (listen addresses expanded from 0.0.0.0 to the interfaces, the
 * circuit address, confirmed observed ones), then the candidates others observed but nobody confirmed.
 */
export function registrableAddrs (node: PeerNode): string[] {
  const { transportManager } = node.services.internals.components
  const self = `/p2p/${node.peerId.toString()}`
  const listening = transportManager.getAddrs().filter((a) => !a.toString().includes('/p2p-circuit')).map((a) => `${a.toString()}${self}`)
  const verified = node.getMultiaddrs().map((a) => a.toString())
  const candidates = node.services.internals.components.addressManager.getObservedAddrs().map((a) => a.toString())
  return [...new Set([...listening, ...verified, ...candidates])]
}

/** Tells libp2p about an address others see us at (e.g. from a tracker), so identify and DCUtR announce it. */
export function confirmObservedAddr (node: PeerNode, addr: string): void {
  node.services.internals.components.addressManager.confirmObservedAddr(multiaddr(addr), { type: 'observed' })
}

export type RelayNode = Libp2p<{ identify: ReturnType<ReturnType<typeof identify>>, relay: ReturnType<ReturnType<typeof circuitRelayServer>>, internals: Internals }>

export async function createRelayNode (init: RelayNodeInit): Promise<RelayNode> {
  const dataLimit = init.dataLimitBytes ?? 0
  const durationLimit = init.durationLimitMs ?? 0
  const unlimited = dataLimit === 0 && durationLimit === 0
  const base = baseOptions(init.privateKey, init.psk, 5 * secondMs, 2 * minuteMs, init.logger, init.inbound)
  const node = await createLibp2p({
    ...base,
    addresses: { listen: init.listen, announce: init.announce ?? [] },
    transports: [tcp()],
    connectionManager: { ...base.connectionManager, maxConnections: 1024 },
    services: {
      identify: identify(),
      relay: circuitRelayServer({
        maxInboundHopStreams: 256,
        maxOutboundStopStreams: 256,
        reservations: {
          maxReservations: init.maxReservations ?? 128,
          reservationTtl: init.reservationTtlMs ?? 60 * minuteMs,
          applyDefaultLimit: !unlimited,
          // A zero in one of the two means "no limit" for it; the library needs a number, so use a huge one.
          defaultDataLimit: BigInt(dataLimit === 0 ? Number.MAX_SAFE_INTEGER : dataLimit),
          // The relay enforces this in milliseconds (LIBP2P.md).
          defaultDurationLimit: durationLimit === 0 ? 2 ** 31 - 1 : durationLimit
        }
      }),
      internals: (components: InternalComponents) => new Internals(components)
    }
  })
  // A relay exists to be reached: its interface addresses go into reservations even when public (see below).
  confirmListenAddrs(node)
  return node
}

/**
 * libp2p leaves a public interface address out of getMultiaddrs() (so out of identify, DCUtR and relay
 * reservations) until something like AutoNAT verifies it; only private ones count at once. A node listening on
 * 0.0.0.0 of a host with a public IP would then offer nothing but loopback. The address is bound on an interface
 * of ours, so confirm it.
 */
export function confirmListenAddrs (node: Libp2p<{ internals: Internals }>): void {
  const { transportManager, addressManager } = node.services.internals.components
  for (const addr of transportManager.getAddrs()) {
    if (addr.getComponents().some((c) => c.name === 'p2p-circuit')) continue
    addressManager.confirmObservedAddr(addr, { type: 'transport' })
  }
}

/** The node's listen addresses with /p2p/<id>, as printed by `rr p2p-serve` and `rr relay-serve`. */
export function announcedAddrs (node: Libp2p): string[] {
  return node.getMultiaddrs().map((a) => a.toString())
}

let noted = false

/**
 * The cipher the private network runs on (src/p2p/pnet.ts): libsodium through sodium-native, or @noble/ciphers when
 * the addon cannot load or `RUSTORY_XSALSA20=noble` asks for it. The pure-JS one is said once, since it is slower.
 */
export function pnetCipher (): CipherImplementation {
  const forced = process.env.RUSTORY_XSALSA20 === 'noble'
  const implementation = cipherImplementation(forced)
  if (implementation !== 'sodium-native' && !noted) {
    noted = true
    const why = forced ? ' (RUSTORY_XSALSA20=noble)' : ': sodium-native did not load on this platform'
    process.stderr.write(`rr: note: the private-network cipher runs on ${implementation}, pure JS and about 15x slower than libsodium${why}\n`)
  }
  return implementation
}
