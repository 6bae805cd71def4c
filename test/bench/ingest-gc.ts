/**
 * Garbage collection in the ingest worker (signing bench): each kind's exported pages ingested in turn, as a pull's
 * worker ingests them, in a worker thread with the pool's young generation (workers/pool.ts), counting V8's
 * collections there (PerformanceObserver `gc` entries). Session 18 found a 4.0.0 relayed pull paying 2.5 times a
 * 3.0.0 one's GC time: every page was kept through two scavenges, promoted, and freed by mark-compacts (a closure
 * added to an object after its creation: docs/PROTOCOL.md, session 19). The count of those full collections shows it
 * coming back.
 */
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { PerformanceObserver, constants, type PerformanceEntry } from 'node:perf_hooks'
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads'
import type { WireVersion } from '../../src/core/admit.js'
import { openDatabase } from '../../src/store/db.js'
import { youngGenerationMb } from '../../workers/pool.js'

interface Kind { pages: Uint8Array[], from: string, wire: WireVersion }
export interface IngestGc { ms: number, scavenges: number, full: number }

interface Job { dir: string, name: string, kind: Kind }

/** Each kind's GC in a worker of its own (a fresh heap each), one kind after the other. */
export async function ingestGc (dir: string, kinds: Record<string, Kind>): Promise<Record<string, IngestGc>> {
  const out: Record<string, IngestGc> = {}
  for (const [name, kind] of Object.entries(kinds)) {
    const worker = new Worker(new URL(import.meta.url), { workerData: { dir, name, kind } satisfies Job, resourceLimits: { maxYoungGenerationSizeMb: youngGenerationMb } })
    const got = await new Promise<IngestGc>((resolve, reject) => {
      worker.once('message', resolve)
      worker.once('error', reject)
      worker.once('exit', (code) => { reject(new Error(`ingest GC worker exited with code ${code}`)) })
    })
    await worker.terminate()
    out[name] = got
  }
  return out
}

async function inWorker (job: Job): Promise<IngestGc> {
  const { ingestPulled } = await import('../../workers/ingest.js')
  const { closeWorkerDb } = await import('../../workers/db-cache.js')
  const { name, kind } = job
  const path = join(job.dir, `gc-${name}.db`)
  openDatabase(path).close()
  const seen: IngestGc = { ms: 0, scavenges: 0, full: 0 }
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      const flags = ((entry as PerformanceEntry & { detail?: { kind?: number } }).detail)?.kind ?? 0
      seen.ms += entry.duration
      if (flags === constants.NODE_PERFORMANCE_GC_MINOR) seen.scavenges++
      else if (flags === constants.NODE_PERFORMANCE_GC_MAJOR) seen.full++
    }
  })
  observer.observe({ entryTypes: ['gc'] })
  for (const page of kind.pages) await ingestPulled({ tag: 'ingest-pulled', dbPath: path, peerId: kind.from, payload: page, wire: kind.wire })
  // The observer hears of the last collections on a later turn of the loop.
  await new Promise((resolve) => setTimeout(resolve, 50))
  observer.disconnect()
  closeWorkerDb(path)
  for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true })
  return { ms: Math.round(seen.ms), scavenges: seen.scavenges, full: seen.full }
}

if (!isMainThread && (workerData as Job | undefined)?.kind != null) parentPort!.postMessage(await inWorker(workerData as Job))
