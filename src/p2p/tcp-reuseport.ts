/**
 * A TCP transport that listens and dials from the same port, so a NAT maps a hole punch to the port the other side
 * was told about. It is @libp2p/tcp (pnet, Noise, Yamux, socket limits, inactivity timeouts, abort signals all
 * unchanged) with two sockets made differently:
 * - the listening socket is bound by the addon with SO_REUSEADDR + SO_REUSEPORT, then handed to Node
 *   (`server.listen({ fd })`);
 * - an outgoing socket is bound by the addon to a listen port of ours with the same options, then connected by
 *   Node (`new net.Socket({ fd }).connect(...)`), so libuv still reports connect, errors and timeouts.
 * Why an addon: Node 20 sets SO_REUSEPORT nowhere, Node 22.12+/24 only on a listener (`reusePort`), and a client
 * socket without it gets EADDRINUSE binding to a port a listener holds (LIBP2P.md). Checked on Node 20.20, 22.23 and
 * 24.22 with the same .node file (N-API).
 *
 * Which dials leave from the listen port is the caller's choice (`fromListenPort`); rustory's peer node picks DCUtR's
 * hole-punch dials only. Dialing everything from it (as go-libp2p does) broke the punch in
 * test/integration/netns-dcutr.test.ts: an earlier plain dial to the same peer (the direct attempt before the relay,
 * DCUtR's unilateral attempt) leaves a conntrack entry on the NAT for the very 4-tuple the punch uses, holding that
 * dial's initial sequence number; when the other side's SYN then reached our *listener* through it, the listener's
 * SYN-ACK (another sequence number) was out of conntrack's window, marked INVALID and sent out un-NATed from the
 * private address (tcpdump on the router), and every later SYN of the punch was answered with RST by the router.
 * When binding or connecting from the listen port fails for a local reason (EADDRINUSE, EADDRNOTAVAIL: the same
 * 4-tuple is already connected), the dial is made again from an ephemeral port, like go-libp2p's reuseport dialer;
 * a refused or timed-out dial is a real answer and is not repeated.
 */
import { closeSync } from 'node:fs'
import net from 'node:net'
import { AbortError, serviceCapabilities, TimeoutError, transportSymbol, type Connection, type CreateListenerOptions, type DialTransportOptions, type Listener, type Transport } from '@libp2p/interface'
import { tcp, type TCPComponents, type TCPOptions } from '@libp2p/tcp'
import type { Multiaddr } from '@multiformats/multiaddr'
import { reuseportAddon, type ReuseportAddon } from './reuseport-addon.js'

export interface ReuseportTcpInit extends TCPOptions {
  /**
   * How to dial this address: from the listen port or not, and (for a simultaneous open) whether we take the
   * responder's role in the upgrade (`initiator: false`). @default every dial from the listen port, as initiator
   */
  dialPlan?: (ma: Multiaddr) => DialPlan
  /** Told once, when the addon cannot load and dials fall back to ephemeral ports. @default a line on stderr */
  warn?: (line: string) => void
}

export interface DialPlan {
  fromListenPort: boolean
  /** false: upgrade as the responder (multistream-select listener, Noise responder). @default true */
  initiator?: boolean
}

/** What @libp2p/tcp's TCP instance has besides the Transport interface (its dial calls `_connect`). */
interface TcpInternals {
  _connect: (ma: Multiaddr, options: DialTransportOptions & TCPDialSocketOptions) => Promise<net.Socket>
}

interface TCPDialSocketOptions {
  /** Set by ReuseportTcp.dial from the dial plan. */
  fromListenPort?: boolean
  /** Read by libp2p's upgrader: false upgrades as the listener. */
  initiator?: boolean
  noDelay?: boolean
  keepAlive?: boolean
  keepAliveInitialDelay?: number
  allowHalfOpen?: boolean
}

/** Local errors that say "not from this port", after which the dial goes again from an ephemeral one. */
const portClashCodes = new Set(['EADDRINUSE', 'EADDRNOTAVAIL'])

let warned = false

export function reuseportTcp (init: ReuseportTcpInit = {}): (components: TCPComponents) => Transport {
  const { warn, dialPlan, ...options } = init
  return (components) => {
    const loaded = reuseportAddon()
    if ('error' in loaded && !warned) {
      warned = true
      const line = `rr: note: hole punching is off: the SO_REUSEPORT addon did not load (${loaded.error}); dials go out from ephemeral ports (rebuild it: npm rebuild rustory)`
      if (warn != null) warn(line)
      else process.stderr.write(`${line}\n`)
    }
    const inner = tcp(options)(components)
    return 'addon' in loaded ? new ReuseportTcp(inner, loaded.addon, components, dialPlan ?? (() => ({ fromListenPort: true }))) : inner
  }
}

/** Whether dials from this process can leave from the listen port (the addon loaded). */
export function reuseportAvailable (): boolean {
  return 'addon' in reuseportAddon()
}

class ReuseportTcp implements Transport {
  readonly [Symbol.toStringTag] = '@rustory/tcp-reuseport'
  readonly [transportSymbol] = true as const
  readonly [serviceCapabilities] = ['@libp2p/transport']
  readonly #inner: Transport
  readonly #addon: ReuseportAddon
  readonly #log: ReturnType<TCPComponents['logger']['forComponent']>
  /** Our listening servers; a dial binds to the port of one that fits the destination. */
  readonly #servers = new Set<net.Server>()

  readonly #dialPlan: (ma: Multiaddr) => DialPlan

  constructor (inner: Transport, addon: ReuseportAddon, components: TCPComponents, dialPlan: (ma: Multiaddr) => DialPlan) {
    this.#inner = inner
    this.#dialPlan = dialPlan
    this.#addon = addon
    this.#log = components.logger.forComponent('rustory:tcp-reuseport')
    const internals = inner as unknown as TcpInternals
    const plainConnect = internals._connect.bind(inner)
    internals._connect = async (ma, options) => await this.#connect(ma, options, plainConnect)
  }

  get listenFilter (): Transport['listenFilter'] {
    return this.#inner.listenFilter.bind(this.#inner)
  }

  get dialFilter (): Transport['dialFilter'] {
    return this.#inner.dialFilter.bind(this.#inner)
  }

  async dial (ma: Multiaddr, options: DialTransportOptions): Promise<Connection> {
    const plan = this.#dialPlan(ma)
    const dialOptions: DialTransportOptions & TCPDialSocketOptions = { ...options, fromListenPort: plan.fromListenPort }
    if (plan.initiator === false) {
      // The responder of a simultaneous open: `initiator: false` makes the upgrader run Noise and multistream-select
      // as the listener, and yamux picks its role from the connection's direction ('outbound' makes it a client):
      // with both ends clients yamux fails every stream ("Both endpoints are clients"). So the socket we dialed
      // is upgraded as an inbound one.
      const upgrader = options.upgrader
      dialOptions.initiator = false
      dialOptions.upgrader = Object.create(upgrader, {
        upgradeOutbound: {
          value: async (maConn: Parameters<typeof upgrader.upgradeOutbound>[0], opts: Parameters<typeof upgrader.upgradeOutbound>[1]) => {
            (maConn as { direction: 'inbound' | 'outbound' }).direction = 'inbound'
            return await upgrader.upgradeOutbound(maConn, opts)
          }
        }
      }) as typeof upgrader
    }
    return await this.#inner.dial(ma, dialOptions)
  }

  /** @libp2p/tcp's listener, whose server binds through the addon instead of libuv. */
  createListener (options: CreateListenerOptions): Listener {
    const listener = this.#inner.createListener(options)
    const server = (listener as unknown as { server?: net.Server }).server
    if (!(server instanceof net.Server)) return listener
    const listen = server.listen.bind(server) as (...args: unknown[]) => net.Server
    const addon = this.#addon
    server.listen = ((config: net.ListenOptions, cb?: () => void): net.Server => {
      const family = net.isIP(config.host ?? '')
      if (config.path != null || (family !== 4 && family !== 6)) return listen(config, cb)
      let fd: number
      try {
        fd = addon.bindReusable(family, config.host!, config.port ?? 0, true)
      } catch (err) {
        process.nextTick(() => server.emit('error', err))
        return server
      }
      return config.backlog != null ? listen({ fd }, config.backlog, cb) : listen({ fd }, cb)
    }) as net.Server['listen']
    server.on('listening', () => this.#servers.add(server))
    server.on('close', () => this.#servers.delete(server))
    return listener
  }

  /** The listen address to dial `host` from: same family, the wildcard first, loopback only for loopback. */
  #localFor (host: string, family: 4 | 6): { host: string, port: number } | undefined {
    const loopback = family === 4 ? host.startsWith('127.') : host === '::1'
    let best: { host: string, port: number, rank: number } | undefined
    for (const server of this.#servers) {
      const address = server.address()
      if (address == null || typeof address === 'string' || !server.listening) continue
      if (net.isIP(address.address) !== family) continue
      const wildcard = address.address === '0.0.0.0' || address.address === '::'
      const isLoopback = address.address.startsWith('127.') || address.address === '::1'
      if (isLoopback !== loopback && !wildcard) continue
      const rank = wildcard ? 0 : 1
      if (best == null || rank < best.rank) best = { host: address.address, port: address.port, rank }
    }
    return best
  }

  async #connect (ma: Multiaddr, options: DialTransportOptions & TCPDialSocketOptions, plainConnect: TcpInternals['_connect']): Promise<net.Socket> {
    const target = options.fromListenPort === true ? tcpTarget(ma) : undefined
    const local = target != null ? this.#localFor(target.host, target.family) : undefined
    if (target == null || local == null) return await plainConnect(ma, options)
    try {
      return await this.#connectFrom(local, target, ma, options)
    } catch (err) {
      const code = (err as { code?: unknown }).code
      if (typeof code !== 'string' || !portClashCodes.has(code) || options.signal.aborted) throw err
      this.#log('cannot dial %a from port %d (%s), dialing from an ephemeral port', ma, local.port, code)
      return await plainConnect(ma, options)
    }
  }

  /** @libp2p/tcp's `_connect`, with the socket bound to our listen port first. */
  async #connectFrom (local: { host: string, port: number }, target: { host: string, port: number, family: 4 | 6 }, ma: Multiaddr, options: DialTransportOptions & TCPDialSocketOptions): Promise<net.Socket> {
    options.signal.throwIfAborted()
    const fd = this.#addon.bindReusable(target.family, local.host, local.port, false)
    let socket: net.Socket
    try {
      socket = new net.Socket({ fd, allowHalfOpen: options.allowHalfOpen ?? false })
    } catch (err) {
      closeSync(fd)
      throw err
    }
    this.#log('dialing %a from port %d', ma, local.port)
    const start = Date.now()
    return await new Promise<net.Socket>((resolve, reject) => {
      const done = (err?: Error): void => {
        socket.removeListener('error', onError)
        socket.removeListener('timeout', onTimeout)
        socket.removeListener('connect', onConnect)
        options.signal.removeEventListener('abort', onAbort)
        if (err == null) {
          resolve(socket)
          return
        }
        socket.destroy()
        reject(err)
      }
      const onError = (err: Error): void => {
        err.message = `connection error ${target.host}:${target.port} from port ${local.port}: ${err.message}`
        done(err)
      }
      const onTimeout = (): void => done(new TimeoutError(`Connection timeout after ${Date.now() - start}ms`))
      const onConnect = (): void => {
        this.#log('connection opened %a from port %d', ma, local.port)
        socket.setNoDelay(options.noDelay ?? true)
        socket.setKeepAlive(options.keepAlive ?? true, options.keepAliveInitialDelay ?? 0)
        done()
      }
      const onAbort = (): void => done(new AbortError())
      socket.on('error', onError)
      socket.on('timeout', onTimeout)
      socket.on('connect', onConnect)
      options.signal.addEventListener('abort', onAbort)
      // Connect in this same turn: the fd is bound but unconnected, and Node has already started reading it.
      socket.connect({ host: target.host, port: target.port })
    })
  }
}

/** host/port/family of a /ip4|ip6/…/tcp/… address; undefined for anything else (dns, unix). */
function tcpTarget (ma: Multiaddr): { host: string, port: number, family: 4 | 6 } | undefined {
  const parts = ma.getComponents()
  const ip = parts[0]
  const port = parts[1]
  if (ip == null || port == null || port.name !== 'tcp' || ip.value == null || port.value == null) return undefined
  if (ip.name !== 'ip4' && ip.name !== 'ip6') return undefined
  const family = net.isIP(ip.value)
  if (family !== 4 && family !== 6) return undefined
  return { host: ip.value, port: Number(port.value), family }
}
