/**
 * The main-thread facade over the piscina pool: created lazily on first use, closed exactly once.
 * Everything heavy with SQLite or JSON (bulk ingest, batch export, the search feed) runs there, so hundreds of
 * thousands of entries never block the network loop.
 */
import type { MessagePort } from 'node:worker_threads'
import { Piscina } from 'piscina'
import { fromWorkerFailure, type Task, type TaskResult } from './tasks.js'

/** The ingest worker's young generation (MB): also what the signing bench measures its GC in (test/bench/ingest-gc.ts). */
export const youngGenerationMb = 8

export interface WorkerPoolInit {
  /** @default 2 */
  maxThreads?: number
  /** @default 30 s */
  idleTimeoutMs?: number
}

export class WorkerPool {
  #pool: Piscina | undefined
  #closed: Promise<void> | undefined
  readonly #init: WorkerPoolInit

  constructor (init: WorkerPoolInit = {}) {
    this.#init = init
  }

  #get (): Piscina {
    if (this.#closed != null) throw new Error('worker pool is closed')
    this.#pool ??= new Piscina({
      filename: new URL('./worker.js', import.meta.url).href,
      minThreads: 0,
      maxThreads: this.#init.maxThreads ?? 2,
      idleTimeout: this.#init.idleTimeoutMs ?? 30_000,
      // Batches are parsed into short-lived objects: a small young generation collects them sooner. Peak RSS of a
      // 1M-entry pull went from 270-274 to 233-237 MB for about 3% of its speed (measured at 500k entries).
      resourceLimits: { maxYoungGenerationSizeMb: youngGenerationMb }
    })
    return this.#pool
  }

  /** Runs a task; ArrayBuffers in `transfer` (and ports) move to the worker instead of being copied. */
  async run<T extends Task> (task: T, transfer: Array<ArrayBuffer | MessagePort> = []): Promise<TaskResult<T>> {
    try {
      return await this.#get().run(task, { transferList: transfer as never }) as TaskResult<T>
    } catch (err) {
      throw fromWorkerFailure(err)
    }
  }

  /** True once close was called: no task can run any more. */
  get closed (): boolean {
    return this.#closed != null
  }

  /** Closes the pool once; later calls return the same promise. */
  async close (): Promise<void> {
    this.#closed ??= this.#pool?.destroy() ?? Promise.resolve()
    await this.#closed
  }
}
