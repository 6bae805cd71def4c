/**
 * One budget for the request and answer bytes a node holds at once, across every stream and connection. Per-stream caps
 * (16 MiB a push) alone let 24 half-open push streams of 15 MiB each take `p2p-serve` from 95 to 608 MB; with the
 * budget, a request that would pass it is refused as "busy" (the sender retries later) and what is held stays
 * bounded whatever the number of streams.
 */
import { SyncError } from '../protocol/errors.js'

const MiB = 1024 * 1024

/** @default 48 MiB: three full 16 MiB pushes at once. */
export const defaultRequestBudgetBytes = 48 * MiB

/** The node is holding its whole request budget; retrying later can help. */
export class BusyError extends SyncError {
  static override readonly name = 'BusyError'
  override readonly name = 'BusyError'
}

/** Bytes one reader holds against the budget until it releases them. */
export interface BudgetHold {
  /** Counts `bytes` more; throws BusyError (counting nothing) when the budget cannot cover them. */
  take: (bytes: number) => void
  /** Gives back everything this hold took. Safe to call more than once. */
  release: () => void
}

export class ByteBudget {
  readonly capacity: number
  #used = 0

  constructor (capacityBytes: number = defaultRequestBudgetBytes) {
    this.capacity = capacityBytes
  }

  get used (): number {
    return this.#used
  }

  /** What is left to take. */
  get available (): number {
    return Math.max(0, this.capacity - this.#used)
  }

  hold (what: string): BudgetHold {
    let held = 0
    return {
      take: (bytes) => {
        if (this.#used + bytes > this.capacity) {
          throw new BusyError(`${what}: the server is holding ${Math.round(this.#used / MiB)} MiB of requests, its limit is ${Math.round(this.capacity / MiB)} MiB; retry later`)
        }
        this.#used += bytes
        held += bytes
      },
      release: () => {
        this.#used -= held
        held = 0
      }
    }
  }
}
