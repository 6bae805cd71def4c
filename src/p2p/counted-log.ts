/**
 * Log lines a peer can cause at will, counted instead of repeated: a swarm-key holder that opens stream after stream
 * and sends junk on each was logged one line per stream (about 42,000 lines in 80 s, measured), enough to fill a
 * disk with daemon.log over a day. The first line of a kind (its key: what, which peer, which refusal) goes out at
 * once; the same kind again within the window is counted, and told as one line when the window ends. At most
 * maxKinds kinds are tracked at once: past that, every new kind is counted under one shared key (a holder can make
 * as many PeerIds as it likes), so a window logs at most maxKinds + 1 lines and their summaries.
 */
export interface CountedLogInit {
  windowMs?: number
  maxKinds?: number
}

interface Window {
  /** Lines counted after the first. */
  more: number
  /** The last of them, as it would have been logged. */
  last: string
  timer: ReturnType<typeof setTimeout>
}

const shared = '\u0000others'

export class CountedLog {
  readonly #log: (line: string) => void
  readonly #windowMs: number
  readonly #maxKinds: number
  readonly #windows = new Map<string, Window>()

  constructor (log: (line: string) => void, init: CountedLogInit = {}) {
    this.#log = log
    this.#windowMs = init.windowMs ?? 10_000
    this.#maxKinds = init.maxKinds ?? 64
  }

  /** Logs `line` now, or counts it when a line of this kind went out within the window. */
  line (kind: string, line: string): void {
    const key = this.#windows.has(kind) || this.#windows.size < this.#maxKinds ? kind : shared
    const window = this.#windows.get(key)
    if (window != null) {
      window.more++
      window.last = line
      return
    }
    this.#log(key === shared ? `${line} (more than ${this.#maxKinds} kinds of refusal at once: the rest are counted together)` : line)
    const timer = setTimeout(() => this.#end(key), this.#windowMs)
    timer.unref?.()
    this.#windows.set(key, { more: 0, last: line, timer })
  }

  /** Tells every window's count now (when the node stops). */
  flush (): void {
    for (const key of [...this.#windows.keys()]) this.#end(key)
  }

  #end (key: string): void {
    const window = this.#windows.get(key)
    if (window == null) return
    clearTimeout(window.timer)
    this.#windows.delete(key)
    if (window.more > 0) this.#log(`${window.last} (and ${window.more} more like it${key === shared ? ' from many peers' : ''} within ${this.#windowMs >= 1000 ? `${Math.round(this.#windowMs / 1000)} s` : `${this.#windowMs} ms`})`)
  }
}
