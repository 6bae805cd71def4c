/**
 * Keeps this peer registered with every tracker while `rr p2p-serve` runs: registers at start, again every
 * ttl_sec/3 (well before the registration expires), promptly after the addresses change, and — when a tracker is
 * down or refuses us — again on a backoff schedule, forever; it never gives up and never throws. Each tracker's
 * `observed_addr` (our public IP behind NAT) is combined with each TCP listen port and handed back to the caller
 * (libp2p's identify/DCUtR) and to every tracker. One log line per registration outcome. No libp2p here: the
 * caller passes its addresses in as functions.
 */
import { errorMessage } from '../protocol/errors.js'
import { backoffMs } from '../sync/backoff.js'
import { TrackerClient } from './client.js'
import type { RetryPolicy } from './retry.js'
import { signRegistration, type Signer } from './signature.js'
import { maxAddrs, type PeerMeta, TrackerError } from './types.js'
import { secondMs } from '../core/units.js'

export interface RegistrarInit {
  /** Tracker base URLs. */
  trackers: string[]
  /** Sent as `Authorization: Bearer <token>`. @default undefined */
  token?: string
  peerId: string
  meta: PeerMeta
  /**
   * Signs each registration with the peer's identity key (`privateKey.sign`), so only this peer can register its
   * PeerId. Without it registrations go unsigned, which current trackers refuse. @default undefined
   */
  sign?: Signer
  /** The addresses to register, re-read before every registration (libp2p's getMultiaddrs() and friends). */
  addrs: () => string[]
  /** The TCP ports we listen on; each tracker's observed IP is combined with each of them. */
  listenPorts: () => number[]
  /** Called with `/ip4/<observed ip>/tcp/<listen port>` (no /p2p) once per new address a tracker reported. */
  onObservedAddr?: (addr: string) => void
  log: (line: string) => void
  /** First wait after a failed registration; doubles per failure. @default 1 s */
  retryBaseMs?: number
  /** Longest wait between attempts while a tracker fails (also the pace after a refused token). @default 60 s */
  retryMaxMs?: number
  /** Jitter source for the wait between attempts (see backoffMs), in [0, 1). @default Math.random */
  random?: () => number
  /** Address changes arriving within this window cause one registration. @default 500 ms */
  debounceMs?: number
  /** The client's own retry policy for each registration. @default defaultRetryPolicy */
  policy?: Partial<RetryPolicy>
}

interface TrackerState {
  client: TrackerClient
  timer?: NodeJS.Timeout
  running?: Promise<void> | undefined
  /** Another registration was asked for while one was running. */
  again: boolean
  failures: number
  /** The address list of the last successful registration (sorted, joined), to skip needless ones. */
  registered?: string
  ttlSec?: number
  /** This tracker's observed IP × our listen ports, from its last answer. */
  observed: string[]
}

/** `/ip4/<ip>/tcp/<port>` (or ip6) with the observed IP and each listen port; an unparsable observed address gives []. */
export function observedWithPorts (observed: string, ports: number[], peerId: string): string[] {
  const match = /^\/(ip4|ip6)\/([^/]+)\/tcp\/\d+/.exec(observed)
  if (match == null) return []
  return [...new Set(ports)].map((port) => `/${match[1]}/${match[2]}/tcp/${port}/p2p/${peerId}`)
}

/** The address list to send: deduplicated, at most `maxAddrs`, in the given order. */
export function registrationAddrs (lists: string[][], peerId: string): string[] {
  const suffix = `/p2p/${peerId}`
  const out: string[] = []
  for (const list of lists) {
    for (const raw of list) {
      const addr = raw.endsWith(suffix) || raw.includes('/p2p-circuit') ? raw : `${raw}${suffix}`
      if (!out.includes(addr)) out.push(addr)
    }
  }
  return out.slice(0, maxAddrs)
}

/** Whether a URL's host is this machine (127.0.0.0/8, ::1, localhost). Pure. */
export function isLoopbackUrl (url: string): boolean {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '')
  return host === 'localhost' || host === '::1' || /^127\./.test(host)
}

/** Drops loopback addresses: to a peer on another machine they point at itself. Pure. */
export function withoutLoopback (addrs: string[]): string[] {
  return addrs.filter((a) => !/^\/ip4\/127\./.test(a) && !/^\/ip6\/::1\//.test(a))
}

export class Registrar {
  readonly #init: RegistrarInit
  readonly #states: Map<string, TrackerState> = new Map()
  readonly #abort = new AbortController()
  /** Every address libp2p was told about, so each is confirmed once. */
  readonly #confirmed = new Set<string>()
  #debounce?: NodeJS.Timeout
  #stopped = false
  /** Trackers whose first registration attempt has not ended yet, and who waits for them all (firstRound). */
  readonly #firstPending = new Set<string>()
  #firstResolve!: () => void
  readonly #firstDone = new Promise<void>((resolve) => { this.#firstResolve = resolve })

  constructor (init: RegistrarInit) {
    this.#init = init
    for (const url of init.trackers) {
      try {
        const client = new TrackerClient(url, {
          ...(init.token != null && init.token !== '' ? { token: init.token } : {}),
          ...(init.policy != null ? { policy: init.policy } : {})
        })
        this.#states.set(client.url, { client, again: false, failures: 0, observed: [] })
      } catch (err) {
        init.log(`tracker: not registering with ${url}: ${errorMessage(err)}`)
      }
    }
  }

  /**
   * The addresses the next registration with `url` would send. Loopback ones go only to a tracker on this machine
   * (a test or a single-host setup); elsewhere they would send other peers to themselves.
   */
  addrs (url?: string): string[] {
    const all = registrationAddrs([this.#init.addrs(), ...[...this.#states.values()].map((s) => s.observed)], this.#init.peerId)
    return url != null && isLoopbackUrl(url) ? all : withoutLoopback(all)
  }

  /** Registers with every tracker now; the schedule takes over from there. */
  start (): void {
    for (const url of this.#states.keys()) {
      this.#firstPending.add(url)
      this.#registerSoon(url, 0)
    }
    this.#settleFirst()
  }

  /**
   * Resolves once the first registration with every tracker has ended, registered or failed (at once when there are
   * none, and on stop). Asking a tracker for peers only after our own registration has landed means that of two
   * devices starting together, the later one to register always finds the earlier one (which then hears from it):
   * listing while our registration is still in flight, both could miss each other until the next discovery round.
   */
  async firstRound (): Promise<void> {
    await this.#firstDone
  }

  #settleFirst (url?: string): void {
    if (url != null) this.#firstPending.delete(url)
    if (this.#firstPending.size === 0 || this.#stopped) this.#firstResolve()
  }

  /** Our addresses may have changed: re-register (debounced) with the trackers that have a different list. */
  changed (): void {
    if (this.#stopped) return
    clearTimeout(this.#debounce)
    this.#debounce = setTimeout(() => {
      for (const [url, state] of this.#states) {
        if (state.registered !== this.addrs(url).slice().sort().join(' ')) this.#registerSoon(url, 0)
      }
    }, this.#init.debounceMs ?? 500)
    this.#debounce.unref()
  }

  /** Stops every timer and aborts registrations in flight. */
  async stop (): Promise<void> {
    this.#stopped = true
    this.#settleFirst()
    clearTimeout(this.#debounce)
    this.#abort.abort()
    for (const state of this.#states.values()) clearTimeout(state.timer)
    await Promise.all([...this.#states.values()].map(async (s) => await s.running))
  }

  #registerSoon (url: string, delayMs: number): void {
    const state = this.#states.get(url)
    if (state == null || this.#stopped) return
    clearTimeout(state.timer)
    if (state.running != null) {
      state.again = true
      return
    }
    state.timer = setTimeout(() => {
      state.running = this.#register(url, state).then((nextMs) => {
        state.running = undefined
        this.#settleFirst(url)
        if (this.#stopped) return
        const again = state.again
        state.again = false
        this.#registerSoon(url, again ? 0 : nextMs)
      })
    }, delayMs)
    state.timer.unref()
  }

  /** One registration; resolves with the wait before the next one (never rejects). */
  async #register (url: string, state: TrackerState): Promise<number> {
    const init = this.#init
    const addrs = this.addrs(url)
    let next: number
    try {
      const body = { peer_id: init.peerId, addrs, meta: init.meta }
      const answer = await state.client.register(init.sign != null ? await signRegistration(body, init.sign) : body, { signal: this.#abort.signal })
      if (this.#stopped) return 0
      state.failures = 0
      state.ttlSec = answer.ttl_sec
      state.registered = addrs.slice().sort().join(' ')
      next = Math.max(1, Math.floor(answer.ttl_sec / 3)) * secondMs
      const circuit = addrs.filter((a) => a.includes('/p2p-circuit')).length
      init.log(`tracker: registered with ${url} as ${init.peerId}: ${addrs.length} addrs (${circuit} via relay), ttl ${answer.ttl_sec} s, observed ${answer.observed_addr === '' ? 'none' : answer.observed_addr}; next in ${Math.round(next / secondMs)} s`)
      this.#learnObserved(state, answer.observed_addr)
    } catch (err) {
      if (this.#stopped) return 0
      state.failures++
      const refused = err instanceof TrackerError && err.permanent
      const maxMs = init.retryMaxMs ?? 60 * secondMs
      next = refused ? maxMs : backoffMs(state.failures, (init.random ?? Math.random)(), { baseMs: init.retryBaseMs ?? secondMs, capMs: maxMs })
      // While registered, retry before the registration runs out even if the backoff has grown.
      if (state.ttlSec != null && !refused) next = Math.min(next, Math.max(1, Math.floor(state.ttlSec / 3)) * secondMs)
      init.log(`tracker: registration with ${url} failed (attempt ${state.failures}): ${errorMessage(err)}; retrying in ${(next / secondMs).toFixed(1)} s`)
    }
    return next
  }

  #learnObserved (state: TrackerState, observed: string): void {
    const derived = observed === '' ? [] : observedWithPorts(observed, this.#init.listenPorts(), this.#init.peerId)
    const own = new Set(this.#init.addrs())
    for (const addr of derived) {
      if (own.has(addr) || this.#confirmed.has(addr)) continue
      this.#confirmed.add(addr)
      this.#init.onObservedAddr?.(addr.slice(0, addr.lastIndexOf('/p2p/')))
    }
    const changed = derived.join(' ') !== state.observed.join(' ')
    state.observed = derived
    if (changed) this.changed()
  }
}
