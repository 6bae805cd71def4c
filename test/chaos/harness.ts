/**
 * The convergence harness (Jepsen-style): N real devices record continuously and sync with each other
 * (`p2p-sync --watch --push`) while processes are killed with -9 (at random moments, and right after a dial
 * succeeded, i.e. mid-exchange) and restarted, and paused with SIGSTOP past the dial timeouts. Then the faults and
 * the recording stop, sync quiesces, and every database must hold exactly the union of what was recorded: nothing
 * lost, nothing duplicated, identical rows, a sound file and sane cursors. The seed replays the fault schedule.
 * Meanwhile devices delete entries (`rr delete`, their own and other devices', some not synced to them yet): every
 * deleted entry must be gone everywhere (undeleted 0), never come back (resurrected 0), and leave a tombstone on
 * every device.
 */
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Device, freePorts, prng, sleep, verifyCluster, waitForConvergence, writeSwarmKey, type Verdict } from '../helpers/cluster.js'

const second = 1000

export interface ChaosOptions {
  seed: number
  /** @default 8 */
  devices?: number
  /** How long faults are injected (recording runs as long). @default 40 */
  durationSec?: number
  /** Entries each device holds before the run (a backlog, so first pulls take many batches). @default 300 */
  seedEntries?: number
  /** --limit of every sync process (small, so that transfers span many batches). @default 50 */
  limit?: number
  /** --interval-sec of each sync process is picked in this range. @default [1, 2] */
  intervalSec?: [number, number]
  /** Peers each sync process syncs with; the full mesh is devices - 1. @default devices - 1 */
  fanout?: number
  /** A device records one command every [min, max] ms. @default [100, 300] */
  recordEveryMs?: [number, number]
  /** Between two faults. @default [1000, 3000] ms */
  faultEveryMs?: [number, number]
  /** How long a killed process stays down. @default [200, 3000] ms */
  downMs?: [number, number]
  /** SIGSTOP duration: longer than the 5 s per-address dial timeout. @default [6000, 12000] ms */
  pauseMs?: [number, number]
  /** A device deletes one or two entries every [min, max] ms while faults run. @default [2000, 4000] */
  deleteEveryMs?: [number, number]
  /** Time allowed for sync to quiesce once faults stop. @default 120 s */
  quiesceTimeoutSec?: number
  /** Keep the run directory (databases, homes) for inspection. @default false */
  keep?: boolean
  log?: ((line: string) => void) | undefined
}

export interface ChaosResult extends Verdict {
  seed: number
  devices: number
  kills: number
  midBatchKills: number
  pauses: number
  restarts: number
  records: number
  recordFailures: number
  /** `rr delete` runs that succeeded, and the entries they deleted. */
  deletes: number
  deletedEntries: number
  syncRoundsOk: number
  syncRoundsFailed: number
  convergeMs: number | undefined
  runDir: string
  summary: string
}

export async function runChaos (options: ChaosOptions): Promise<ChaosResult> {
  const random = prng(options.seed)
  const n = options.devices ?? 8
  const durationMs = (options.durationSec ?? 40) * second
  const between = (range: [number, number]): number => range[0] + random() * (range[1] - range[0])
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!
  const log = options.log ?? (() => {})
  const runDir = mkdtempSync(join(tmpdir(), 'rustory-chaos-'))
  const swarmKeyPath = join(runDir, 'swarm.key')
  writeSwarmKey(swarmKeyPath)

  let kills = 0
  let midBatchKills = 0
  let pauses = 0
  let restarts = 0
  let faulting = true
  /** Processes currently under a fault (killed or paused), so two faults never hit one process at once. */
  const busy = new Set<string>()
  const inFlight = new Set<Promise<void>>()
  /** Failures of the harness itself (a process that would not restart), reported as problems. */
  const harnessErrors: string[] = []
  const track = (p: Promise<void>): void => {
    const q = p.catch((err: unknown) => { harnessErrors.push(err instanceof Error ? err.message : String(err)) })
    inFlight.add(q)
    void q.finally(() => inFlight.delete(q))
  }

  // A loaded machine (2 cores, dozens of node processes) can take tens of seconds to start one.
  const serveStartTimeoutMs = 120 * second
  const ports = await freePorts(n)
  /** Armed by the fault loop: the next successful dial gets its sync process or its target serve killed. */
  let armed = false
  const byPort = new Map<number, Device>()

  const killAndRestart = async (d: Device, which: 'serve' | 'sync', downMs: number, midBatch: boolean): Promise<void> => {
    const key = `${d.index}/${which}`
    busy.add(key)
    try {
      await d.kill(which)
      kills++
      if (midBatch) midBatchKills++
      log(`fault: kill -9 device ${d.index} ${which}${midBatch ? ' (mid-exchange)' : ''}, down ${Math.round(downMs)} ms`)
      await sleep(downMs)
      await restart(d, which)
    } finally {
      busy.delete(key)
    }
  }

  const syncOptions = new Map<Device, { intervalSec: number, limit: number, push: boolean }>()
  const restart = async (d: Device, which: 'serve' | 'sync'): Promise<void> => {
    const t0 = Date.now()
    if (which === 'serve') await d.startServe(serveStartTimeoutMs)
    else d.startSync(d.syncPeers, syncOptions.get(d)!)
    restarts++
    log(`restart: device ${d.index} ${which} up in ${Date.now() - t0} ms`)
  }

  const devices = ports.map((port, i) => new Device(i, runDir, port, swarmKeyPath, {
    onSyncLine: (device, line) => {
      if (!armed || !faulting) return
      const m = /^dial: direct .* addr=\/ip4\/127\.0\.0\.1\/tcp\/(\d+)\/p2p\/\S+: ok/.exec(line)
      if (m == null) return
      const target = random() < 0.5 ? { d: device, which: 'sync' as const } : { d: byPort.get(Number(m[1])), which: 'serve' as const }
      if (target.d == null || busy.has(`${target.d.index}/${target.which}`)) return
      armed = false
      const { d, which } = target
      const delay = random() * 40
      track((async () => {
        await sleep(delay)
        await killAndRestart(d, which, between(options.downMs ?? [200, 3000]), true)
      })())
    }
  }))
  for (const d of devices) byPort.set(d.port, d)

  const started = Date.now()
  let failed = true
  try {
    for (const d of devices) d.seed(options.seedEntries ?? 300, random)
    await Promise.all(devices.map(async (d) => await d.startServe(serveStartTimeoutMs)))
    const fanout = Math.min(options.fanout ?? n - 1, n - 1)
    for (const d of devices) {
      const others = devices.filter((o) => o !== d)
      // A partial fanout picks a random subset, but the ring (i → i+1) is always in it so the graph stays connected.
      const next = devices[(d.index + 1) % n]!
      const rest = others.filter((o) => o !== next).sort(() => random() - 0.5).slice(0, fanout - 1)
      const peers = [next, ...rest].map((o) => o.addr!)
      const range = options.intervalSec ?? [1, 2]
      const opts = { intervalSec: Math.round(between(range)), limit: options.limit ?? 50, push: true }
      syncOptions.set(d, opts)
      d.startSync(peers, opts)
    }
    log(`chaos: ${n} devices up in ${Date.now() - started} ms (seed ${options.seed}, run dir ${runDir})`)

    // Recorders: each device records one command every recordEveryMs.
    let recording = true
    let records = 0
    const recorders = devices.map(async (d) => {
      const r = prng(options.seed * 31 + d.index)
      let i = 0
      while (recording) {
        await sleep((options.recordEveryMs ?? [100, 300])[0] + r() * ((options.recordEveryMs ?? [100, 300])[1] - (options.recordEveryMs ?? [100, 300])[0]))
        if (!recording) break
        await d.record(`echo chaos ${d.index} ${i++} ${'y'.repeat(Math.floor(r() * 100))}`)
        records++
      }
    })

    // Deleters: now and then a device deletes one of its own entries, or one recorded elsewhere (maybe not here yet).
    let deletes = 0
    const deleter = (async () => {
      const r = prng(options.seed * 17 + 5)
      const every = options.deleteEveryMs ?? [2000, 4000]
      const taken = new Set<string>()
      while (faulting) {
        await sleep(every[0] + r() * (every[1] - every[0]))
        if (!faulting) break
        const d = devices[Math.floor(r() * devices.length)]!
        const from = r() < 0.7 ? d : devices[Math.floor(r() * devices.length)]!
        const candidates = [...from.recorded].filter((id) => !taken.has(id))
        if (candidates.length === 0) continue
        const ids = Array.from({ length: r() < 0.5 ? 1 : 2 }, () => candidates[Math.floor(r() * candidates.length)]!)
        for (const id of ids) taken.add(id)
        if (await d.delete([...new Set(ids)])) {
          deletes++
          log(`delete: device ${d.index} deleted ${ids.join(', ')} (recorded by device ${from.index})`)
        }
      }
    })()

    // Faults until the duration is over.
    const faultsEnd = Date.now() + durationMs
    while (Date.now() < faultsEnd) {
      await sleep(between(options.faultEveryMs ?? [1000, 3000]))
      if (Date.now() >= faultsEnd) break
      const kind = random()
      const d = pick(devices)
      const which = random() < 0.5 ? 'serve' as const : 'sync' as const
      if (busy.has(`${d.index}/${which}`)) continue
      if (kind < 0.35) {
        track(killAndRestart(d, which, between(options.downMs ?? [200, 3000]), false))
      } else if (kind < 0.65) {
        armed = true
      } else {
        const ms = between(options.pauseMs ?? [6000, 12000])
        const key = `${d.index}/${which}`
        if (!d.pause(which)) continue
        busy.add(key)
        pauses++
        log(`fault: SIGSTOP device ${d.index} ${which} for ${Math.round(ms)} ms`)
        track((async () => {
          await sleep(ms)
          d.resume(which)
          busy.delete(key)
        })())
      }
    }
    faulting = false
    armed = false
    await deleter
    while (inFlight.size > 0) await Promise.all([...inFlight])
    recording = false
    await Promise.all(recorders)
    // Everything back up: nothing is paused, every process runs.
    for (const d of devices) {
      d.resume('serve')
      d.resume('sync')
      if (!d.isServeUp()) await restart(d, 'serve')
      if (!d.isSyncUp()) await restart(d, 'sync')
    }
    const deleted = new Set<string>()
    for (const d of devices) for (const id of d.deleted) deleted.add(id)
    const expected = new Set<string>()
    for (const d of devices) for (const id of d.recorded) if (!deleted.has(id)) expected.add(id)
    log(`chaos: faults stopped after ${Math.round((Date.now() - started) / 1000)} s; ${expected.size} entries live, ${deleted.size} deleted; waiting for convergence`)
    const convergeMs = await waitForConvergence(devices, expected, (options.quiesceTimeoutSec ?? 120) * second, 500, deleted)
    await Promise.all(devices.map(async (d) => await d.stopAll()))
    const verdict = verifyCluster(devices)
    for (const e of harnessErrors) verdict.problems.push(`harness: ${e}`)
    const recordFailures = devices.reduce((s, d) => s + d.recordFailures, 0)
    for (const d of devices) {
      const recLog = d.recordLog()
      if (recLog !== '') verdict.problems.push(`device ${d.index}: record.log: ${recLog.split('\n')[0]!}`)
      for (const e of d.recordErrors) verdict.problems.push(`device ${d.index}: rr record failed: ${e}`)
    }
    if (convergeMs == null) {
      verdict.problems.push(`no convergence within ${options.quiesceTimeoutSec ?? 120} s`)
      for (const d of devices) verdict.problems.push(`device ${d.index} sync tail:\n  ${d.sync?.tail.lines.slice(-8).join('\n  ') ?? ''}`)
    }
    const syncRoundsOk = devices.reduce((s, d) => s + d.syncOk, 0)
    const syncRoundsFailed = devices.reduce((s, d) => s + d.syncFailed, 0)
    const summary = `chaos: seed=${options.seed} devices=${n} entries=${verdict.entries} kills=${kills} (mid-exchange ${midBatchKills}) pauses=${pauses} ` +
      `restarts=${restarts} sync-rounds ok=${syncRoundsOk} failed=${syncRoundsFailed} converge=${convergeMs == null ? 'TIMEOUT' : `${(convergeMs / 1000).toFixed(1)}s`} ` +
      `deletes=${deletes} (${deleted.size} entries) ` +
      `lost = ${verdict.lost} duplicated = ${verdict.duplicated} resurrected = ${verdict.resurrected} undeleted = ${verdict.undeleted} ` +
      `unexpected = ${verdict.unexpected} mismatched = ${verdict.mismatched} record-failures = ${recordFailures}`
    failed = verdict.problems.length > 0 || convergeMs == null
    return { ...verdict, seed: options.seed, devices: n, kills, midBatchKills, pauses, restarts, records, recordFailures, deletes, deletedEntries: deleted.size, syncRoundsOk, syncRoundsFailed, convergeMs, runDir, summary }
  } finally {
    await Promise.all(devices.map(async (d) => await d.stopAll(2000).catch(() => {})))
    if (failed) log(`chaos: run directory kept for inspection: ${runDir}`)
    else if (options.keep !== true) rmSync(runDir, { recursive: true, force: true })
  }
}
