/**
 * SyncTransport over a libp2p Connection, and the dial helpers that make one. Every failure becomes a SyncError
 * whose `permanent` flag tells the machine whether retrying can help.
 */
import type { Connection, Libp2p, Stream } from '@libp2p/interface'
import { multiaddr, type Multiaddr } from '@multiformats/multiaddr'
import type { WireVersion } from '../core/admit.js'
import { entriesPushProtocol, entriesPushProtocolV2, entriesPushProtocolV3, entriesPushProtocolV4, maxPullResponseBytes, maxPushRequestBytes, maxPushResponseBytes, syncPullProtocol, syncPullProtocolV2, syncPullProtocolV3, syncPullProtocolV4, tombstonePullProtocol, tombstonePushProtocol } from '../protocol/constants.js'
import { DialError, errorMessage, MessageTooLargeError, SwarmKeyMismatchError, SyncError, UnsupportedProtocolError } from '../protocol/errors.js'
import { decodeJson, encodeMessage, parsePushAck, type PushAck, type SyncPull } from '../protocol/messages.js'
import { parseTombstoneAck, type TombstoneAck } from '../protocol/tombstones.js'
import type { DialPath, SyncTransport } from '../protocol/transport.js'
import { armDeadline, errorFromReply, readDocument, writeAll } from './stream-io.js'
import { secondMs, minuteMs } from '../core/units.js'

export interface P2PTransportInit {
  /** How long one exchange (request and answer) may take. @default 5 min */
  exchangeTimeoutMs?: number
  /** Protocol versions to offer, preferred first; [1] behaves like a client from before signed entries. @default [4, 3, 2, 1] */
  wireVersions?: WireVersion[]
}

const pullIds: Record<WireVersion, string> = { 1: syncPullProtocol, 2: syncPullProtocolV2, 3: syncPullProtocolV3, 4: syncPullProtocolV4 }
const pushIds: Record<WireVersion, string> = { 1: entriesPushProtocol, 2: entriesPushProtocolV2, 3: entriesPushProtocolV3, 4: entriesPushProtocolV4 }

const entryProtocols = new Set([...Object.values(pullIds), ...Object.values(pushIds)])

function wireOf (protocol: string): WireVersion {
  if (protocol === syncPullProtocolV4 || protocol === entriesPushProtocolV4) return 4
  if (protocol === syncPullProtocolV3 || protocol === entriesPushProtocolV3) return 3
  return protocol === syncPullProtocolV2 || protocol === entriesPushProtocolV2 ? 2 : 1
}

export class P2PTransport implements SyncTransport {
  readonly peerId: string
  readonly remoteAddr: string
  readonly #connection: Connection
  readonly #exchangeTimeoutMs: number
  #offered: WireVersion[]
  #wire: WireVersion | undefined

  constructor (connection: Connection, init: P2PTransportInit = {}) {
    this.#connection = connection
    this.peerId = connection.remotePeer.toString()
    this.remoteAddr = connection.remoteAddr.toString()
    this.#exchangeTimeoutMs = init.exchangeTimeoutMs ?? 5 * minuteMs
    this.#offered = init.wireVersions ?? [4, 3, 2, 1]
  }

  /**
   * The protocol version the peer answered with (4 when it speaks 4.0.0); undefined before the first exchange.
   * The first exchange offers every version (multistream-select picks the first the peer knows); later ones ask
   * for that one alone, which negotiates without the extra round trip.
   */
  get wire (): WireVersion | undefined {
    return this.#wire
  }

  #protocols (ids: Record<WireVersion, string>): string[] {
    return (this.#wire != null ? [this.#wire] : this.#offered).map((v) => ids[v])
  }

  get connection (): Connection {
    return this.#connection
  }

  /** Relayed while the connection goes through a relay; 'direct' otherwise. */
  get path (): DialPath {
    return isRelayed(this.#connection) ? 'relay' : 'direct'
  }

  async pull (request: SyncPull, signal?: AbortSignal): Promise<Uint8Array> {
    const reply = await this.#exchange(this.#protocols(pullIds), encodeMessage(request), maxPullResponseBytes, 'pull response', signal)
    const refused = errorFromReply(reply, 'pull', maxPullResponseBytes)
    if (refused != null) throw refused
    return reply
  }

  async push (payload: Uint8Array, signal?: AbortSignal): Promise<PushAck> {
    if (payload.byteLength > maxPushRequestBytes) throw new MessageTooLargeError('push request', maxPushRequestBytes)
    const reply = await this.#exchange(this.#protocols(pushIds), payload, maxPushResponseBytes, 'push response', signal)
    const refused = errorFromReply(reply, 'push', maxPushRequestBytes)
    if (refused != null) throw refused
    const value = decodeJson(reply, 'PushAck')
    const ack = parsePushAck(value)
    const rejected = (value as { rejected?: unknown }).rejected
    if (Array.isArray(rejected)) ack.rejected = rejected.filter((r): r is NonNullable<PushAck['rejected']>[number] => r != null && typeof r === 'object' && typeof (r as { reason?: unknown }).reason === 'string')
    return ack
  }

  async pullTombstones (request: SyncPull, signal?: AbortSignal): Promise<Uint8Array> {
    const reply = await this.#exchange([tombstonePullProtocol], encodeMessage(request), maxPullResponseBytes, 'tombstone pull response', signal)
    const refused = errorFromReply(reply, 'tombstone pull', maxPullResponseBytes)
    if (refused != null) throw refused
    return reply
  }

  async pushTombstones (payload: Uint8Array, signal?: AbortSignal): Promise<TombstoneAck> {
    if (payload.byteLength > maxPushRequestBytes) throw new MessageTooLargeError('tombstone push request', maxPushRequestBytes)
    const reply = await this.#exchange([tombstonePushProtocol], payload, maxPushResponseBytes, 'tombstone push response', signal)
    const refused = errorFromReply(reply, 'tombstone push', maxPushRequestBytes)
    if (refused != null) throw refused
    return parseTombstoneAck(decodeJson(reply, 'TombstoneAck'))
  }

  async close (): Promise<void> {
    if (this.#connection.status !== 'open') return
    await this.#connection.close({ signal: AbortSignal.timeout(2 * secondMs) }).catch((err: Error) => this.#connection.abort(err))
  }

  /**
   * Opens a stream, writes the request and half-closes, while reading the answer to end of stream. Reading starts
   * before writing so a peer that refuses early (an error document) is heard even if it stops reading.
   */
  async #exchange (protocols: string[], request: Uint8Array, answerCap: number, what: string, signal?: AbortSignal): Promise<Uint8Array> {
    signal?.throwIfAborted()
    const protocol = protocols[0]!
    let stream: Stream
    try {
      // The signal must outlive the call: with one protocol, multistream-select finishes lazily on the first read.
      stream = await this.#connection.newStream(protocols, { runOnLimitedConnection: true, signal: withTimeout(signal, this.#exchangeTimeoutMs) })
    } catch (err) {
      throw streamFailure(err, `opening ${protocols.join(' or ')} to ${this.peerId}`, signal)
    }
    // Only the entry protocols settle the entry wire version (a tombstone exchange runs first and says nothing of it).
    if (protocols.length > 1) this.#wire = wireOf(stream.protocol)
    else if (entryProtocols.has(protocol)) this.#wire ??= wireOf(protocol)
    const disarm = armDeadline(stream, this.#exchangeTimeoutMs, `${protocol} with ${this.peerId}`, signal)
    try {
      const answer = readDocument(stream, answerCap, what)
      answer.catch(() => {})
      let writeError: unknown
      try {
        await writeAll(stream, request, signal)
        await stream.close(signal != null ? { signal } : {})
      } catch (err) {
        writeError = err
      }
      try {
        return await answer
      } catch (err) {
        if (err instanceof MessageTooLargeError) {
          stream.abort(err)
          throw err
        }
        throw streamFailure(writeError ?? err, `${protocol} with ${this.peerId}`, signal)
      }
    } finally {
      disarm()
    }
  }
}

function withTimeout (signal: AbortSignal | undefined, ms: number): AbortSignal {
  return signal != null ? AbortSignal.any([signal, AbortSignal.timeout(ms)]) : AbortSignal.timeout(ms)
}

function streamFailure (err: unknown, what: string, signal?: AbortSignal): Error {
  if (err instanceof SyncError) return err
  if (signal?.aborted === true) return signal.reason instanceof Error ? signal.reason : new SyncError(`${what}: aborted`)
  const name = (err as { name?: string })?.name ?? 'Error'
  if (name === 'UnsupportedProtocolError') return new UnsupportedProtocolError(`${what}: the peer does not speak this protocol (is it a rustory p2p-serve of a compatible version?)`)
  return new SyncError(`${what} failed: ${name}: ${errorMessage(err)}`, { cause: err })
}

export function isRelayed (connection: Connection): boolean {
  return connection.remoteAddr.getComponents().some((c) => c.name === 'p2p-circuit')
}

/** The PeerId in the last /p2p/ part of a multiaddr, or a clear error when there is none. */
export function peerIdOf (addr: Multiaddr | string): string {
  const ma = typeof addr === 'string' ? parseAddr(addr) : addr
  const ids = ma.getComponents().filter((c) => c.name === 'p2p').map((c) => c.value)
  const id = ids[ids.length - 1]
  if (id == null) throw new DialError(`${ma.toString()} has no /p2p/<peer_id> part: use the full address \`rr p2p-serve\` prints (…/p2p/<peer_id>)`, { permanent: true })
  return id
}

function parseAddr (addr: string): Multiaddr {
  try {
    return multiaddr(addr)
  } catch (err) {
    throw new DialError(`${addr} is not a valid multiaddr: ${errorMessage(err)}`, { permanent: true })
  }
}

export interface DialOptions {
  signal?: AbortSignal
  /** The whole dial; each address also has the node's dialTimeoutMs. @default 20 s */
  timeoutMs?: number
  /** Passed to the transport. */
  exchangeTimeoutMs?: number
  /**
   * Open a new connection even when one to this peer is already open. Without it libp2p hands back the open one,
   * and closing the returned transport closes it for everyone using it. @default false
   */
  newConnection?: boolean
  /** Protocol versions to offer (see P2PTransportInit). @default [4, 3, 2, 1] */
  wireVersions?: WireVersion[]
}

export interface Dialed {
  transport: P2PTransport
  connection: Connection
}

/** Names of errors libp2p raises when the encrypted handshake fails, which inside a pnet means the swarm keys differ. */
const handshakeErrors = new Set(['EncryptionFailedError', 'InvalidCryptoExchangeError'])

/** Every error in a cause/AggregateError chain. */
function errorChain (err: unknown): Array<{ name: string, message: string }> {
  const chain: Array<{ name: string, message: string }> = []
  const seen = new Set<unknown>()
  const visit = (e: unknown): void => {
    if (e == null || typeof e !== 'object' || seen.has(e)) return
    seen.add(e)
    const { name, message } = e as { name?: unknown, message?: unknown }
    chain.push({ name: typeof name === 'string' ? name : 'Error', message: typeof message === 'string' ? message : '' })
    visit((e as { cause?: unknown }).cause)
    const errors = (e as { errors?: unknown }).errors
    if (Array.isArray(errors)) errors.forEach(visit)
  }
  visit(err)
  return chain
}

function dialFailure (err: unknown, address: string, timedOut: boolean, signal?: AbortSignal): Error {
  if (err instanceof SyncError) return err
  if (signal?.aborted === true) return signal.reason instanceof Error ? signal.reason : new DialError(`dial ${address}: aborted`)
  const chain = errorChain(err)
  const names = chain.map((e) => e.name)
  const otherPeer = chain.find((e) => /does not match expected remote identity/i.test(e.message))
  if (otherPeer != null) {
    // The Noise handshake worked (so the swarm keys match) but another identity answered.
    return new DialError(`dial ${address}: a different peer answered there (${otherPeer.message.slice(0, 200)}); check the /p2p/<peer_id> part (did that peer's identity key change?)`, { permanent: true, cause: err })
  }
  if (names.some((n) => handshakeErrors.has(n))) return new SwarmKeyMismatchError(address, err)
  if (timedOut || names.some((n) => n === 'TimeoutError' || n === 'AbortError')) {
    return new DialError(`dial ${address} timed out (peer offline, firewalled, or — if it is running — a different swarm key)`, { cause: err })
  }
  const reset = (err instanceof Event) || chain.some((e) => /ECONNRESET|EPIPE|Connection denied/.test(e.message))
  if (reset) {
    return new DialError(`dial ${address} failed: the peer closed the connection during the handshake (${errorMessage(err)}); it may be refusing connections for now (overloaded, or busy with other handshakes), retry later`, { cause: err })
  }
  return new DialError(`dial ${address} failed: ${errorMessage(err)}`, { cause: err })
}

async function dialAddr (node: Libp2p, target: Multiaddr, expectedPeer: string, options: DialOptions): Promise<Dialed> {
  const timeout = AbortSignal.timeout(options.timeoutMs ?? 20 * secondMs)
  const signal = options.signal != null ? AbortSignal.any([options.signal, timeout]) : timeout
  const address = target.toString()
  let connection: Connection
  try {
    connection = await node.dial(target, { signal, ...(options.newConnection === true ? { force: true } : {}) })
  } catch (err) {
    throw dialFailure(err, address, timeout.aborted, options.signal)
  }
  if (connection.remotePeer.toString() !== expectedPeer) {
    await connection.close().catch(() => {})
    throw new DialError(`dial ${address}: reached peer ${connection.remotePeer.toString()}, not ${expectedPeer}`, { permanent: true })
  }
  const transport = new P2PTransport(connection, {
    ...(options.exchangeTimeoutMs != null ? { exchangeTimeoutMs: options.exchangeTimeoutMs } : {}),
    ...(options.wireVersions != null ? { wireVersions: options.wireVersions } : {})
  })
  return { transport, connection }
}

/** Dials a peer directly at `<addr>/p2p/<peer_id>`. */
export async function dialDirect (node: Libp2p, addr: string | Multiaddr, options: DialOptions = {}): Promise<Dialed> {
  const target = typeof addr === 'string' ? parseAddr(addr) : addr
  return await dialAddr(node, target, peerIdOf(target), options)
}

/** Dials a peer through a relay: `<relay>/p2p-circuit/p2p/<peer_id>`. Keep the returned connection (limited ones are never reused by dial). */
export async function dialRelay (node: Libp2p, relayAddr: string | Multiaddr, peerId: string, options: DialOptions = {}): Promise<Dialed> {
  const relay = typeof relayAddr === 'string' ? parseAddr(relayAddr) : relayAddr
  peerIdOf(relay)
  const target = relay.encapsulate(`/p2p-circuit/p2p/${peerId}`)
  return await dialAddr(node, target, peerId, options)
}
