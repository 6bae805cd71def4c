/**
 * Connection-flood defence for a listening node. libp2p counts handshakes in progress only in total
 * (`maxIncomingPendingConnections`), so about 70 silent TCP connections from one address (never sending the pnet
 * nonce, 25 new per second) held every slot and locked every honest peer out, with nothing logged on either side
 * (LIBP2P.md, last section). This gater adds what was missing: a cap on handshakes in progress per source address
 * and in total, and one rate-limited log line per source with a count of what was refused. The handshake deadline
 * itself is libp2p's `inboundUpgradeTimeout` (set from `handshakeTimeoutMs` in node.ts); a connection it drops
 * shows up here as a handshake that never finished.
 *
 * When every slot is taken, a newcomer from an address holding fewer handshakes than the biggest holder takes the
 * place of that holder's oldest one, which is dropped. Refusing the newcomer instead let five addresses at 13 silent
 * connections each (under the per-address cap, reconnecting as they were dropped) hold all 64 slots and lock every
 * honest peer out. A flood from many addresses at one connection each churns the slots, oldest first: an honest
 * handshake has until as many newer connections arrive after it as there are slots.
 */
import type { ConnectionGater, MultiaddrConnection, PeerId } from '@libp2p/interface'
import type { Multiaddr } from '@multiformats/multiaddr'
import { secondMs } from '../core/units.js'

export interface InboundGuardInit {
  /** Handshakes (pnet, Noise, yamux) in progress from one IP address at most; more are refused at once. @default 16 */
  maxPendingPerAddress?: number
  /** Handshakes in progress from all addresses together at most. @default 64 */
  maxPending?: number
  /**
   * Inbound connections open at once from one IP address (each peer behind a relay counts alone); more are closed
   * as soon as their handshake ends. The node's 512 connections in all are otherwise one key holder's to take.
   * @default 32
   */
  maxConnectionsPerAddress?: number
  /** The handshake deadline the node applies, to tell "too slow" from "failed" in the log. @default 5 s */
  handshakeTimeoutMs?: number
  /** Refusals from one source are summed over this window and logged as one line. @default 10 s */
  logWindowMs?: number
  /** Where the summary lines go. @default no logging */
  log?: (line: string) => void
  /** @default Date.now */
  now?: () => number
}

/** Why an inbound connection did not become a libp2p connection. */
export type RefusalReason = 'too-many-from-address' | 'too-many-in-total' | 'evicted' | 'timed-out' | 'failed' | 'too-many-open'

const reasonText: Record<RefusalReason, string> = {
  'too-many-from-address': 'over the per-address limit of handshakes in progress',
  'too-many-in-total': 'over the total limit of handshakes in progress',
  evicted: 'dropped mid-handshake to make room for an address holding fewer',
  'timed-out': 'no complete handshake within the deadline',
  failed: 'handshake failed (a different swarm key, or not a rustory peer)',
  'too-many-open': 'over the per-address limit of open connections (it holds the swarm key)'
}

/** A handshake in progress. */
interface Pending {
  maConn: MultiaddrConnection
  /** Ends it here: upgraded, closed (timed out or failed), or evicted (its socket is then aborted by the caller). */
  finish: (outcome: 'upgraded' | 'closed' | 'evicted') => void
}

interface Window {
  counts: Map<RefusalReason, number>
  timer: NodeJS.Timeout
}

/**
 * The IP address of a TCP multiaddr. A relayed connection counts as its own source (the whole address): every peer
 * behind one relay shares the relay's IP, and reaching us through the relay took the swarm key already.
 */
export function sourceOf (addr: Multiaddr): string {
  const parts = addr.getComponents()
  if (parts.some((c) => c.name === 'p2p-circuit')) return addr.toString()
  const ip = parts.find((c) => c.name === 'ip4' || c.name === 'ip6')
  return ip?.value ?? addr.toString()
}

/** One log line for a source's refusals in a window. Pure. */
export function refusalLine (source: string, counts: ReadonlyMap<RefusalReason, number>, windowMs: number): string {
  let total = 0
  const parts: string[] = []
  for (const [reason, n] of counts) {
    total += n
    parts.push(`${n} ${reasonText[reason]}`)
  }
  return `p2p: refused ${total} inbound connection${total === 1 ? '' : 's'} from ${source} in the last ${Math.round(windowMs / secondMs)} s: ${parts.join(', ')}`
}

export class InboundGuard {
  readonly #perAddress: number
  readonly #openPerAddress: number
  /** Inbound connections open (handshake done), by source. */
  readonly #open = new Map<string, number>()
  readonly #total: number
  readonly #timeoutMs: number
  readonly #windowMs: number
  readonly #log: (line: string) => void
  readonly #now: () => number
  /** By source, oldest first. */
  readonly #pending = new Map<string, Pending[]>()
  readonly #finishers = new WeakMap<MultiaddrConnection, Pending['finish']>()
  readonly #windows = new Map<string, Window>()
  #pendingTotal = 0

  constructor (init: InboundGuardInit = {}) {
    this.#perAddress = init.maxPendingPerAddress ?? 16
    this.#openPerAddress = init.maxConnectionsPerAddress ?? 32
    this.#total = init.maxPending ?? 64
    this.#timeoutMs = init.handshakeTimeoutMs ?? 5 * secondMs
    this.#windowMs = init.logWindowMs ?? 10 * secondMs
    this.#log = init.log ?? (() => {})
    this.#now = init.now ?? Date.now
  }

  /** The libp2p connection gater that enforces the limits. */
  gater (): ConnectionGater {
    return {
      denyInboundConnection: (maConn: MultiaddrConnection) => this.#admit(maConn),
      denyInboundUpgradedConnection: (_peer: PeerId, maConn: MultiaddrConnection) => {
        this.#finishers.get(maConn)?.('upgraded')
        return this.#tooManyOpen(maConn)
      }
    }
  }

  /** Handshakes in progress now, in total. */
  get pending (): number {
    return this.#pendingTotal
  }

  /** Logs every open window now (at shutdown). */
  flush (): void {
    for (const source of [...this.#windows.keys()]) this.#flushSource(source)
  }

  #admit (maConn: MultiaddrConnection): boolean {
    const source = sourceOf(maConn.remoteAddr)
    const mine = this.#pending.get(source)?.length ?? 0
    if (mine >= this.#perAddress) {
      this.#refused(source, 'too-many-from-address')
      return true
    }
    if (this.#pendingTotal >= this.#total) {
      const victim = this.#victimFor(mine)
      if (victim == null) {
        this.#refused(source, 'too-many-in-total')
        return true
      }
      victim.finish('evicted')
      victim.maConn.abort(new Error('dropped mid-handshake to make room for another address'))
    }
    const started = this.#now()
    let done = false
    const pending: Pending = {
      maConn,
      finish: (outcome) => {
        if (done) return
        done = true
        const list = this.#pending.get(source) ?? []
        list.splice(list.indexOf(pending), 1)
        if (list.length === 0) this.#pending.delete(source)
        this.#pendingTotal--
        if (outcome === 'evicted') this.#refused(source, 'evicted')
        else if (outcome === 'closed') this.#refused(source, this.#now() - started >= this.#timeoutMs - 50 ? 'timed-out' : 'failed')
      }
    }
    const list = this.#pending.get(source)
    if (list == null) this.#pending.set(source, [pending])
    else list.push(pending)
    this.#pendingTotal++
    this.#finishers.set(maConn, pending.finish)
    maConn.addEventListener('close', () => pending.finish('closed'), { once: true })
    return false
  }

  /**
   * The handshake to drop for a newcomer whose address holds `mine`: the oldest of the address holding the most,
   * when that is more than `mine` (the first such address found on a tie); none when no address holds more.
   */
  #victimFor (mine: number): Pending | undefined {
    let most: Pending[] | undefined
    for (const list of this.#pending.values()) if (list.length > (most?.length ?? mine)) most = list
    return most?.[0]
  }

  /** Counts an inbound connection whose handshake is done as open from its source, or refuses it over the cap. */
  #tooManyOpen (maConn: MultiaddrConnection): boolean {
    const source = sourceOf(maConn.remoteAddr)
    const n = this.#open.get(source) ?? 0
    if (n >= this.#openPerAddress) {
      this.#refused(source, 'too-many-open')
      return true
    }
    this.#open.set(source, n + 1)
    maConn.addEventListener('close', () => {
      const left = (this.#open.get(source) ?? 1) - 1
      if (left <= 0) this.#open.delete(source)
      else this.#open.set(source, left)
    }, { once: true })
    return false
  }

  #refused (source: string, reason: RefusalReason): void {
    let window = this.#windows.get(source)
    if (window == null) {
      const timer = setTimeout(() => this.#flushSource(source), this.#windowMs)
      timer.unref()
      window = { counts: new Map(), timer }
      this.#windows.set(source, window)
    }
    window.counts.set(reason, (window.counts.get(reason) ?? 0) + 1)
  }

  #flushSource (source: string): void {
    const window = this.#windows.get(source)
    if (window == null) return
    clearTimeout(window.timer)
    this.#windows.delete(source)
    this.#log(refusalLine(source, window.counts, this.#windowMs))
  }
}
