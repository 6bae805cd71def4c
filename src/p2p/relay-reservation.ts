/**
 * Keeps `rr p2p-serve`'s reservation on its relay alive. libp2p refreshes a reservation it holds, but once the
 * relay restarts (or the connection to it drops) the `/p2p-circuit` address disappears and nothing makes a new one
 * (LIBP2P.md). This watches for that — the relay disconnecting, `self:peer:update`, and a slow periodic check — and
 * listens on `<relay>/p2p-circuit` again with backoff until it succeeds. Logs the loss, the first failures and the
 * renewal; `onRenewed` lets the caller re-register with its trackers.
 */
import type { PeerId } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { errorMessage } from '../protocol/errors.js'
import { backoffMs } from '../sync/backoff.js'
import { hasRelayAddr, listenOnRelay, type PeerNode } from './node.js'
import { secondMs } from '../core/units.js'

export interface RelayReservationInit {
  /** The relay multiaddr with /p2p/<relay_peer_id>. */
  relay: string
  log: (line: string) => void
  /** Called after a reservation was made again (not after the first one). */
  onRenewed?: () => void
  /** First wait between attempts; doubles per failure. @default 250 ms */
  retryBaseMs?: number
  /** @default 10 s */
  retryMaxMs?: number
  /** A check for a lost reservation this often, whatever the events say. @default 30 s */
  checkEveryMs?: number
}

export class RelayReservation {
  readonly #node: PeerNode
  readonly #init: RelayReservationInit
  readonly #relayId: string
  #timer?: NodeJS.Timeout | undefined
  #periodic?: NodeJS.Timeout
  #attempting = false
  #failures = 0
  #lostAt?: number | undefined
  #everHeld = false
  #stopped = false

  constructor (node: PeerNode, init: RelayReservationInit) {
    this.#node = node
    this.#init = init
    const id = multiaddr(init.relay).getComponents().findLast((c) => c.name === 'p2p')?.value
    if (id == null) throw new Error(`relay address ${init.relay} must end with /p2p/<relay_peer_id>`)
    this.#relayId = id
  }

  /** Whether the reservation is held right now. */
  held (): boolean {
    return hasRelayAddr(this.#node, this.#init.relay)
  }

  /**
   * Makes the first reservation (resolves true once held; false when the first attempt failed, after logging —
   * attempts then go on in the background) and starts watching.
   */
  async start (): Promise<boolean> {
    this.#node.addEventListener('self:peer:update', this.#onUpdate)
    this.#node.addEventListener('peer:disconnect', this.#onDisconnect)
    this.#periodic = setInterval(() => { this.check() }, this.#init.checkEveryMs ?? 30 * secondMs)
    this.#periodic.unref()
    this.#attempting = true
    try {
      await listenOnRelay(this.#node, this.#init.relay)
      this.#everHeld = true
      return true
    } catch (err) {
      this.#failures = 1
      this.#lostAt = Date.now()
      this.#init.log(`relay: no reservation on ${this.#init.relay}: ${errorMessage(err)}; serving direct connections and retrying in the background`)
      this.#schedule()
      return false
    } finally {
      this.#attempting = false
    }
  }

  /** Starts renewing when the reservation is gone and no attempt is under way. */
  check (): void {
    if (this.#stopped || this.#attempting || this.#timer != null) return
    if (this.held()) return
    if (this.#lostAt == null) {
      this.#lostAt = Date.now()
      this.#init.log(`relay: reservation on ${this.#init.relay} lost; renewing`)
    }
    this.#schedule(0)
  }

  stop (): void {
    this.#stopped = true
    clearTimeout(this.#timer)
    clearInterval(this.#periodic)
    this.#node.removeEventListener('self:peer:update', this.#onUpdate)
    this.#node.removeEventListener('peer:disconnect', this.#onDisconnect)
  }

  readonly #onUpdate = (): void => { this.check() }

  readonly #onDisconnect = (event: CustomEvent<PeerId>): void => {
    // The circuit address goes away about a second later (debounced); start at once.
    if (event.detail.toString() === this.#relayId) setTimeout(() => { this.check() }, 50).unref()
  }

  #schedule (delayMs?: number): void {
    if (this.#stopped) return
    clearTimeout(this.#timer)
    const wait = delayMs ?? backoffMs(this.#failures, Math.random(), { baseMs: this.#init.retryBaseMs ?? 250, capMs: this.#init.retryMaxMs ?? 10 * secondMs })
    this.#timer = setTimeout(() => {
      this.#timer = undefined
      void this.#attempt()
    }, wait)
    this.#timer.unref()
  }

  async #attempt (): Promise<void> {
    if (this.#stopped) return
    if (this.held()) {
      this.#renewed()
      return
    }
    this.#attempting = true
    try {
      await listenOnRelay(this.#node, this.#init.relay)
      if (this.#stopped) return
      this.#renewed()
    } catch (err) {
      if (this.#stopped) return
      this.#failures++
      // The first failures and then every tenth: a relay down for hours must not flood the log.
      if (this.#failures <= 3 || this.#failures % 10 === 0) {
        this.#init.log(`relay: renewing the reservation on ${this.#init.relay} failed (attempt ${this.#failures}): ${errorMessage(err)}`)
      }
      this.#schedule()
    } finally {
      this.#attempting = false
    }
  }

  #renewed (): void {
    const after = this.#lostAt != null ? Date.now() - this.#lostAt : 0
    const attempts = this.#failures + 1
    const first = !this.#everHeld
    this.#everHeld = true
    this.#failures = 0
    this.#lostAt = undefined
    this.#init.log(`relay: reservation ${first ? 'made' : 'renewed'} on ${this.#init.relay} after ${attempts} attempt${attempts === 1 ? '' : 's'} (${after} ms)`)
    this.#init.onRenewed?.()
  }
}
