/**
 * Signing bench (issue 17): the cost of signed entries on a sync of 200k entries over libp2p on loopback. Servers'
 * databases hold the same rows: unsigned (as before 2.0.0: nothing to verify); signed by the serving device itself
 * (direct, first-hand: its connection's Noise handshake authenticates that key, so signatures are not checked again,
 * only carried and stored); signed by a third device (relayed: the receiver verifies every signature); and recorded on
 * the serving device, not yet signed (it signs them ahead, in the background, as soon as it serves; timed until done,
 * then pulled). Each is pulled by `rr p2p-sync` into an empty database; the rate is entries/s from the command's own
 * `--stats wall_ms`, the CPU is the syncing process's `cpu_ms` (all threads) and the serving process's from /proc,
 * which load on the machine barely moves. Rounds alternate the kinds so load hits all alike; each round starts one kind
 * later, every other one in reverse order, and each pull starts after `sync` (no writeback of the pull before it).
 * Signed kinds run on 4.0.0 (chunk signatures: one Ed25519 check per manifest of 256 entries, a SHA-256 per relayed
 * entry, and runs: an entry's hash is not sent when the page holds the entry); the relayed rows are also pulled from a
 * server offering 3.0.0 at most (whole manifests on every page), and 2.0.0 at most, where every entry's own signature
 * is checked (serve-wire.ts), for comparison, after the rounds. The same rows signed 2 at a time, as a daemon signs a
 * history while it is recorded (sign-ahead every few seconds), are pulled as a fifth kind: the growing manifests keep
 * that history at one manifest per 256 entries, like one signed at once. The ingest worker's own work on the same pages
 * is also timed in process, without the network or the serving process (ingestMs). What signing adds in bytes is
 * printed beside: per entry on the wire, and per entry in the syncing device's database after the pull.
 * How much slower a signed kind is: each round's pull of it against the same round's unsigned pull (the two run minutes
 * apart at most, under the same load), the median over rounds; the rates' medians are printed beside.
 * Run: `BENCH_ONLY=signing npm run bench` (BENCH_SIGNING_ENTRIES, BENCH_SIGNING_ROUNDS to change it;
 * BENCH_SIGNING_LIMIT, entries per batch, is what `rr p2p-sync` and `rr daemon` pull: 1000, defaultPullLimit).
 */
import { execFileSync, spawn } from 'node:child_process'
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { loadavg, tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { entrySignerOf, loadOrCreateIdentity } from '../../src/config/keys.js'
import type { EntrySigner } from '../../src/core/signature.js'
import { ChunkHashes } from '../../src/core/chunk.js'
import { entryDigests, receivedDigests, sha256Addon, sha256AddonPath, useSha256Addon } from '../../src/core/entry-digests.js'
import { validateBatch } from '../../src/core/entry.js'
import { decodeJson, parseChunks, parseSyncBatch, takeChunkRefs } from '../../src/protocol/messages.js'
import { defaultPullLimit } from '../../src/protocol/constants.js'
import { openDatabase } from '../../src/store/db.js'
import { signPending } from '../../src/store/entries.js'
import { ensureSwarmKey } from '../helpers/keys.js'
import { exportedPages } from '../helpers/wire.js'
import { ingestGc } from './ingest-gc.js'
import type { WireVersion } from '../../src/core/admit.js'
import { closeWorkerDb } from '../../workers/db-cache.js'
import { ingestPulled } from '../../workers/ingest.js'
import { env, seed, waitForLine } from './sync.js'

const rrBin = fileURLToPath(new URL('../../../bin/rr', import.meta.url))

interface Pulled { count: number, verified: number, ms: number, clientCpuMs: number, serverCpuMs: number, dbBytes: number }

/** CPU time (all threads) of a live process, from /proc (Linux); NaN elsewhere. */
function cpuMsOf (pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')
    return (Number(fields[11]) + Number(fields[12])) * 10
  } catch {
    return NaN
  }
}

const serveWire = fileURLToPath(new URL('./serve-wire.js', import.meta.url))

/**
 * Serves dbA with `rr p2p-serve` (every wire version; `rr p2p-sync` gets 4.0.0), or with `versions` only (a server
 * from before 4.0.0 or 3.0.0: serve-wire.ts), and pulls it all with `rr p2p-sync` into an empty database.
 */
async function pull (dir: string, name: string, dbA: string, swarm: string, limit: number, homeA = join(dir, `${name}-serve`), beforePull?: () => Promise<void>, versions?: string): Promise<Pulled> {
  const homeB = join(dir, `${name}-sync`)
  mkdirSync(homeA, { recursive: true })
  mkdirSync(homeB, { recursive: true })
  const dbB = join(homeB, 'b.db')
  rmSync(dbB, { force: true })
  const serve = versions == null
    ? spawn(process.execPath, [rrBin, '--db-path', dbA, 'p2p-serve', '--listen', '/ip4/127.0.0.1/tcp/0'], { env: env(homeA, swarm), stdio: ['ignore', 'pipe', 'inherit'] })
    : spawn(process.execPath, [serveWire, dbA, swarm, join(homeA, '.config', 'rustory', 'identity.key'), versions], { env: env(homeA, swarm), stdio: ['ignore', 'pipe', 'inherit'] })
  try {
    const addr = await waitForLine(serve, /p2p listen: (\S+)/)
    await beforePull?.()
    // The pull before this one left ~100 MB of dirty pages: written back during this pull, they would slow it
    // (which kind follows which decides who pays) instead of the one that wrote them.
    execFileSync('sync')
    const serverBefore = cpuMsOf(serve.pid)
    const sync = spawn(process.execPath, [rrBin, '--db-path', dbB, 'p2p-sync', '--peers', addr, '--limit', String(limit), '--stats'], { env: env(homeB, swarm), stdio: ['ignore', 'pipe', 'pipe'] })
    let err = ''
    sync.stderr!.on('data', (d: Buffer) => { err += d.toString() })
    const code = await new Promise<number | null>((resolve) => sync.once('exit', resolve))
    const serverCpuMs = cpuMsOf(serve.pid) - serverBefore
    if (code !== 0) throw new Error(`p2p-sync exited ${code}: ${err}`)
    const wall = /wall_ms=(\d+)/.exec(err)
    const cpu = /cpu_ms=(\d+)/.exec(err)
    const db = new Database(dbB, { readonly: true })
    const { count, verified } = db.prepare('SELECT COUNT(*) AS count, COALESCE(SUM(trust = 1), 0) AS verified FROM entries').get() as { count: number, verified: number }
    db.close()
    // What the pull left on disk: the database and any write-ahead log not yet folded into it.
    const dbBytes = [dbB, `${dbB}-wal`].reduce((sum, f) => sum + (existsSync(f) ? statSync(f).size : 0), 0)
    rmSync(homeB, { recursive: true, force: true })
    return { count, verified, ms: Number(wall?.[1] ?? NaN), clientCpuMs: Number(cpu?.[1] ?? NaN), serverCpuMs, dbBytes }
  } finally {
    serve.kill('SIGTERM')
    await new Promise((resolve) => serve.once('exit', resolve))
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

/**
 * In process, no network: what checking a relayed 3.0.0 batch's entries against their manifests costs (each
 * entry's canonical bytes hashed, found in its chunk), over every page a server exports from a database signed by
 * signPending, parsed and validated beforehand: hashed from the page's own text in native code, as a receiver does
 * (receivedDigests); written in JS and hashed in one native call per page (entryDigests); and one node:crypto call
 * per entry, as without the addon. Medians of 5, the three alternating.
 */
function chunkCheckMs (pages: readonly Uint8Array[]): { text: number, native: number, perEntry: number } {
  const parsed = pages.map((json) => {
    const batch = parseSyncBatch(decodeJson(json, 'SyncBatch'))
    const chunks = parseChunks(batch.chunks, 'SyncBatch')
    const refs = takeChunkRefs(batch.entries, chunks)
    const { valid, indexes } = validateBatch(batch.entries)
    return { json, raw: batch.entries, chunks, refs, valid, indexes }
  })
  const check = (fromText: boolean): void => {
    for (const page of parsed) {
      const originOf = (i: number): string => page.chunks[page.refs[page.indexes[i]!]!]!.origin
      const { digests, hashed } = fromText ? receivedDigests(page, page.valid, originOf) : entryDigests(page.valid, originOf)
      const lists = new Map<number, ChunkHashes>()
      for (let i = 0; i < page.valid.length; i++) {
        const k = page.refs[page.indexes[i]!]!
        let list = lists.get(k)
        if (list == null) lists.set(k, list = new ChunkHashes(page.chunks[k]!))
        if (hashed[i] !== 1 || !list.hasDigest(digests, i)) throw new Error(`entry ${page.valid[i]!.entry_id} is not in its chunk`)
      }
    }
  }
  const times = { text: [] as number[], native: [] as number[], perEntry: [] as number[] }
  try {
    for (let round = 0; round < 5; round++) {
      for (const kind of ['text', 'native', 'perEntry'] as const) {
        useSha256Addon(kind !== 'perEntry')
        const started = performance.now()
        check(kind === 'text')
        times[kind].push(performance.now() - started)
      }
    }
  } finally {
    useSha256Addon(true)
  }
  return { text: median(times.text), native: median(times.native), perEntry: median(times.perEntry) }
}

/**
 * In process, no network: the ingest worker's own work (workers/ingest.ts ingestPulled: decode, validate, check,
 * store) over every page a real server exports, into an empty database, each kind's pages as sent by `from` (the
 * PeerId the connection would authenticate). Medians of 5, the kinds alternating. What the syncing process spends
 * apart from the network and the other process on the same cores.
 */
async function ingestMs (dir: string, kinds: Record<string, { pages: Uint8Array[], from: string, wire: WireVersion }>): Promise<Record<string, number>> {
  const times: Record<string, number[]> = Object.fromEntries(Object.keys(kinds).map((k) => [k, []]))
  const names = Object.keys(kinds)
  for (let round = 0; round < 5; round++) {
    for (let k = 0; k < names.length; k++) {
      const name = names[(round + k) % names.length]!
      const path = join(dir, `ingest-${name}.db`)
      openDatabase(path).close()
      const started = performance.now()
      for (const page of kinds[name]!.pages) {
        const result = await ingestPulled({ tag: 'ingest-pulled', dbPath: path, peerId: kinds[name]!.from, payload: page.slice(), wire: kinds[name]!.wire })
        if (result.rejected.length > 0) throw new Error(`ingest ${name}: ${result.rejected[0]!.reason}`)
      }
      times[name]!.push(performance.now() - started)
      closeWorkerDb(path)
      for (const suffix of ['', '-wal', '-shm']) rmSync(path + suffix, { force: true })
    }
  }
  return Object.fromEntries(names.map((n) => [n, median(times[n]!)]))
}

export async function benchSigning (entries = Number(process.env.BENCH_SIGNING_ENTRIES ?? 200_000), rounds = Number(process.env.BENCH_SIGNING_ROUNDS ?? 7), limit = Number(process.env.BENCH_SIGNING_LIMIT ?? defaultPullLimit)): Promise<Record<string, string | number>> {
  const dir = mkdtempSync(join(tmpdir(), 'rustory-bench-signing-'))
  try {
    const swarm = join(dir, 'swarm.key')
    ensureSwarmKey(swarm)
    const unsigned = join(dir, 'unsigned.db')
    const relayed = join(dir, 'relayed.db')
    const firstHand = join(dir, 'first-hand.db')
    const pending = join(dir, 'pending.db')
    const live = join(dir, 'live.db')
    seed(unsigned, entries)
    for (const copy of [relayed, firstHand, pending, live]) copyFileSync(unsigned, copy)
    /** Signs every row, all at once (as after an import), or `perCall` at a time (as sign-ahead does a live history). */
    const signWith = (path: string, signer: EntrySigner, perCall = -1): number => {
      const db = openDatabase(path)
      try {
        db.exec('UPDATE entries SET trust = 2')
        const started = performance.now()
        // 2 at a time: 100k calls, each in a savepoint of one transaction (a commit each took the bench 48 s).
        db.transaction(() => { while (signPending(db, signer, perCall) > 0 && perCall > 0); })()
        return performance.now() - started
      } finally {
        db.close()
      }
    }
    const key = await generateKeyPair('Ed25519')
    const signMs = signWith(relayed, { origin: peerIdFromPrivateKey(key).toString(), secretKey: key.raw })
    // A history recorded with the daemon running: sign-ahead signs what is new every few seconds, one or two entries.
    const liveSignMs = signWith(live, { origin: peerIdFromPrivateKey(key).toString(), secretKey: key.raw }, 2)
    const chunksPer1k = (path: string): string => {
      const db = new Database(path, { readonly: true })
      try {
        return ((db.prepare('SELECT COUNT(*) FROM chunks').pluck().get() as number) / (entries / 1000)).toFixed(1)
      } finally {
        db.close()
      }
    }
    // The first-hand server's own identity key, where `rr p2p-serve` will load it from.
    const homeFirstHand = join(dir, 'first-hand-serve')
    const identity = await loadOrCreateIdentity(join(homeFirstHand, '.config', 'rustory', 'identity.key'))
    signWith(firstHand, entrySignerOf(identity))
    const p = openDatabase(pending)
    p.exec('UPDATE entries SET trust = 2')
    p.close()
    const pages = { unsigned: exportedPages(unsigned, limit, 4), direct: exportedPages(firstHand, limit, 4, entrySignerOf(identity)), relayed: exportedPages(relayed, limit, 4), live: exportedPages(live, limit, 4), relayedV3: exportedPages(relayed, limit, 3) }
    const checkMs = chunkCheckMs(pages.relayedV3)
    const wireBytes = Object.fromEntries(Object.entries(pages).map(([k, list]) => [k, list.reduce((sum, p) => sum + p.length, 0)])) as Record<keyof typeof pages, number>
    const inProcess = await ingestMs(dir, {
      unsigned: { pages: pages.unsigned, from: identity.peerId, wire: 4 },
      direct: { pages: pages.direct, from: identity.peerId, wire: 4 },
      relayed: { pages: pages.relayed, from: identity.peerId, wire: 4 },
      live: { pages: pages.live, from: identity.peerId, wire: 4 },
      relayedV3: { pages: pages.relayedV3, from: identity.peerId, wire: 3 }
    })
    const gc = await ingestGc(dir, {
      unsigned: { pages: pages.unsigned, from: identity.peerId, wire: 4 },
      direct: { pages: pages.direct, from: identity.peerId, wire: 4 },
      relayed: { pages: pages.relayed, from: identity.peerId, wire: 4 },
      relayedV3: { pages: pages.relayedV3, from: identity.peerId, wire: 3 }
    })
    const vsUnsigned = (ms: number): string => {
      const percent = (ms / inProcess.unsigned! - 1) * 100
      return `${percent >= 0 ? '+' : ''}${percent.toFixed(1)}%`
    }

    const kinds = ['unsigned', 'direct', 'relayed', 'relayedV3', 'relayedV2', 'live'] as const
    const runs: Record<typeof kinds[number], Pulled[]> = { unsigned: [], direct: [], relayed: [], relayedV3: [], relayedV2: [], live: [] }
    const loads: number[] = [loadavg()[0]!]
    const pullOf: Record<typeof kinds[number], (r: number) => Promise<Pulled>> = {
      unsigned: async (r) => await pull(dir, `u${r}`, unsigned, swarm, limit),
      direct: async (r) => await pull(dir, `f${r}`, firstHand, swarm, limit, homeFirstHand),
      relayed: async (r) => await pull(dir, `s${r}`, relayed, swarm, limit),
      // The same relayed rows from a server that offers 3.0.0 at most (whole manifests, each entry by k), and 2.0.0
      // at most (one signature verified per entry).
      relayedV3: async (r) => await pull(dir, `w${r}`, relayed, swarm, limit, undefined, undefined, '1,2,3'),
      relayedV2: async (r) => await pull(dir, `v${r}`, relayed, swarm, limit, undefined, undefined, '1,2'),
      live: async (r) => await pull(dir, `l${r}`, live, swarm, limit)
    }
    // The kinds compared with the target. Each round starts one kind later, and every other round runs them in the
    // reverse order, so each follows two others in turn: rotating one order alone kept every kind behind the same
    // one, and the pull right after a 2.0.0 pull (4-5 times the CPU of the others) looked slower on this machine:
    // the history signed 2 at a time, always behind it until 2026-12-03, came out 11 and 2 points behind the relayed
    // rows in the last two runs at 1000 per batch (its ingest in process is the same), and 5 points ahead in the
    // first run after.
    const compared = ['unsigned', 'direct', 'relayed', 'live'] as const
    for (let r = 0; r < rounds; r++) {
      for (let k = 0; k < compared.length; k++) {
        const at = r % 2 === 0 ? r + k : r - k + compared.length * rounds
        const kind = compared[at % compared.length]!
        runs[kind].push(await pullOf[kind](r))
      }
      loads.push(loadavg()[0]!)
    }
    // The 3.0.0 and 2.0.0 pulls, for comparison only, after all the others (each 3.0.0 pull with an unsigned one
    // beside it, in turn first and second, for a ratio of its own).
    const unsignedBeside: Pulled[] = []
    for (let r = 0; r < rounds; r++) {
      if (r % 2 === 0) unsignedBeside.push(await pullOf.unsigned(r))
      runs.relayedV3.push(await pullOf.relayedV3(r))
      if (r % 2 === 1) unsignedBeside.push(await pullOf.unsigned(r))
    }
    for (let r = 0; r < rounds; r++) runs.relayedV2.push(await pullOf.relayedV2(r))
    loads.push(loadavg()[0]!)
    const load = `${loads.map((l) => l.toFixed(1)).join(' ')} (1-min load average at the start, after each round, and after the 2.0.0 pulls)`
    for (const x of Object.values(runs).flat()) if (x.count !== entries) throw new Error(`pulled ${x.count} of ${entries}`)
    // Signed ahead: the server starts serving its own unsigned entries; the pull starts once they are all signed
    // (or once nothing has been signed for 3 s: a server that signs inside the pull only, as before).
    let signAheadMs = NaN
    const ahead = await pull(dir, 'p', pending, swarm, limit, undefined, async () => {
      const started = performance.now()
      const probe = new Database(pending, { readonly: true })
      try {
        let left = -1
        let changed = performance.now()
        for (;;) {
          const now = probe.prepare('SELECT COUNT(*) FROM entries WHERE trust = 2').pluck().get() as number
          if (now === 0) {
            signAheadMs = performance.now() - started
            return
          }
          if (now !== left) [left, changed] = [now, performance.now()]
          if (performance.now() - changed > 3000) return
          await new Promise((resolve) => setTimeout(resolve, 50))
        }
      } finally {
        probe.close()
      }
    })
    const rate = (x: Pulled): number => entries / (x.ms / 1000)
    const med = (kind: typeof kinds[number], f: (x: Pulled) => number): number => median(runs[kind].map(f))
    const plain = med('unsigned', rate)
    /** Each round's pull of `kind` against that round's unsigned pull: the median of the rounds' ratios. */
    const slower = (kind: typeof kinds[number]): string => {
      if (kind === 'relayedV2') return `${((1 - med(kind, rate) / plain) * 100).toFixed(1)}% (from the medians of rates: its pulls ran after the rounds)`
      const ratios = runs[kind].map((x, r) => rate(x) / rate((kind === 'relayedV3' ? unsignedBeside : runs.unsigned)[r]!))
      return `${((1 - median(ratios)) * 100).toFixed(1)}% (rounds: ${ratios.map((q) => `${((1 - q) * 100).toFixed(0)}%`).join(' ')}; from the medians of rates: ${((1 - med(kind, rate) / plain) * 100).toFixed(1)}%)`
    }
    const cpuRatio = (kind: typeof kinds[number], f: (x: Pulled) => number): string => `${(med(kind, f) / med('unsigned', f)).toFixed(2)}x`
    const perK = (ms: number): string => (ms / (entries / 1000)).toFixed(1)
    const bytesVs = (bytes: number, base: number): string => `+${((bytes / base - 1) * 100).toFixed(1)}%`
    return {
      'signing entries': entries,
      'machine load': load,
      'sign rate (signPending, in process) entries/s': Math.round(entries / (signMs / 1000)),
      'relayed entries checked against their manifests (in process: hashed from the page text in native code, as a receiver does | written in JS, hashed in one native call per page | one node:crypto call each, as without the addon) ms': sha256Addon() == null ? `the addon did not load (${sha256AddonPath.pathname}): ${Math.round(checkMs.perEntry)}` : `${Math.round(checkMs.text)} | ${Math.round(checkMs.native)} | ${Math.round(checkMs.perEntry)} (${(checkMs.text / checkMs.native).toFixed(2)}x | ${(checkMs.text / checkMs.perEntry).toFixed(2)}x)`,
      'ingest in process, no network (the ingest worker\'s work on every exported page) ms unsigned | direct | relayed | relayed, signed 2 at a time (4.0.0) | relayed on 3.0.0': `${Math.round(inProcess.unsigned!)} | ${Math.round(inProcess.direct!)} | ${Math.round(inProcess.relayed!)} | ${Math.round(inProcess.live!)} | ${Math.round(inProcess.relayedV3!)} (direct ${vsUnsigned(inProcess.direct!)}, relayed ${vsUnsigned(inProcess.relayed!)}, signed 2 at a time ${vsUnsigned(inProcess.live!)}, relayed on 3.0.0 ${vsUnsigned(inProcess.relayedV3!)})`,
      'ingest worker GC (each kind\'s pages once, in a worker with the pool\'s young generation) ms, scavenges, mark-compacts: unsigned | direct | relayed | relayed on 3.0.0': ['unsigned', 'direct', 'relayed', 'relayedV3'].map((k) => `${gc[k]!.ms}, ${gc[k]!.scavenges}, ${gc[k]!.full}`).join(' | '),
      'history signed 2 entries at a time (as a daemon signs a live history): sign time in process ms | chunk manifests per 1k entries, signed at once | 2 at a time': `${Math.round(liveSignMs)} | ${chunksPer1k(relayed)} | ${chunksPer1k(live)}`,
      // Growing manifests sign the same hashes, and Ed25519 is deterministic: the two pull the same bytes, and the gap
      // between their figures below is the run's noise.
      'pages served for the history signed 2 at a time byte-identical to those of the same rows signed at once': pages.live.length === pages.relayed.length && pages.live.every((p, i) => Buffer.from(p).equals(Buffer.from(pages.relayed[i]!))) ? 'yes' : 'no',
      'sync unsigned entries/s (median of rounds)': Math.round(plain),
      'sync signed direct, 4.0.0 (the serving device\'s own entries, chunk-signed) entries/s (median)': Math.round(med('direct', rate)),
      'sync signed relayed, 4.0.0 (every chunk and entry hash verified) entries/s (median)': Math.round(med('relayed', rate)),
      'sync signed relayed, 3.0.0 (from a server offering 3.0.0 at most) entries/s (median)': Math.round(med('relayedV3', rate)),
      'sync signed relayed, 2.0.0 (every per-entry signature verified) entries/s (median)': Math.round(med('relayedV2', rate)),
      'sync signed relayed, 4.0.0, history signed 2 at a time entries/s (median)': Math.round(med('live', rate)),
      'rounds entries/s unsigned | direct | relayed | relayed 3.0.0 | relayed 2.0.0 | relayed, signed 2 at a time': kinds.map((k) => runs[k].map((x) => Math.round(rate(x))).join(' ')).join(' | '),
      'verified rows on the receiver (direct, relayed, relayed 3.0.0, relayed 2.0.0)': `${Math.min(...runs.direct.map((x) => x.verified))}, ${Math.min(...runs.relayed.map((x) => x.verified))}, ${Math.min(...runs.relayedV3.map((x) => x.verified))}, ${Math.min(...runs.relayedV2.map((x) => x.verified))}`,
      'direct 4.0.0 vs unsigned: slower by (target < 10%)': slower('direct'),
      'relayed 4.0.0 vs unsigned: slower by (target < 10%)': slower('relayed'),
      'relayed 3.0.0 vs unsigned (pulled after the rounds, each beside an unsigned pull of its own): slower by': slower('relayedV3'),
      'relayed 2.0.0 vs unsigned: slower by': slower('relayedV2'),
      'relayed 4.0.0, history signed 2 at a time, vs unsigned: slower by (target < 10%)': slower('live'),
      'syncing process CPU ms per 1k entries unsigned | direct | relayed | relayed 3.0.0 | relayed 2.0.0 | signed 2 at a time (median)': kinds.map((k) => perK(med(k, (x) => x.clientCpuMs))).join(' | '),
      'serving process CPU ms per 1k entries unsigned | direct | relayed | relayed 3.0.0 | relayed 2.0.0 | signed 2 at a time (median)': kinds.map((k) => perK(med(k, (x) => x.serverCpuMs))).join(' | '),
      'CPU vs unsigned, syncing side: direct | relayed | relayed 3.0.0 | relayed 2.0.0 | signed 2 at a time': ['direct', 'relayed', 'relayedV3', 'relayedV2', 'live'].map((k) => cpuRatio(k as typeof kinds[number], (x) => x.clientCpuMs)).join(' | '),
      'CPU vs unsigned, both sides: direct | relayed | relayed 3.0.0 | relayed 2.0.0 | signed 2 at a time': ['direct', 'relayed', 'relayedV3', 'relayedV2', 'live'].map((k) => cpuRatio(k as typeof kinds[number], (x) => x.clientCpuMs + x.serverCpuMs)).join(' | '),
      'bytes per entry on the wire (4.0.0 pages as served) unsigned | direct | relayed | signed 2 at a time | relayed on 3.0.0': `${(wireBytes.unsigned / entries).toFixed(1)} | ${(wireBytes.direct / entries).toFixed(1)} | ${(wireBytes.relayed / entries).toFixed(1)} | ${(wireBytes.live / entries).toFixed(1)} | ${(wireBytes.relayedV3 / entries).toFixed(1)} (direct ${bytesVs(wireBytes.direct, wireBytes.unsigned)}, relayed ${bytesVs(wireBytes.relayed, wireBytes.unsigned)}, signed 2 at a time ${bytesVs(wireBytes.live, wireBytes.unsigned)}, relayed on 3.0.0 ${bytesVs(wireBytes.relayedV3, wireBytes.unsigned)})`,
      'bytes per entry in the syncing device\'s database after the pull unsigned | direct | relayed (4.0.0, median)': `${(med('unsigned', (x) => x.dbBytes) / entries).toFixed(0)} | ${(med('direct', (x) => x.dbBytes) / entries).toFixed(0)} | ${(med('relayed', (x) => x.dbBytes) / entries).toFixed(0)} (direct ${bytesVs(med('direct', (x) => x.dbBytes), med('unsigned', (x) => x.dbBytes))}, relayed ${bytesVs(med('relayed', (x) => x.dbBytes), med('unsigned', (x) => x.dbBytes))})`,
      'server signs its own unsigned entries ahead (from serving until done) ms': Number.isNaN(signAheadMs) ? 'not signed ahead' : Math.round(signAheadMs),
      'sync of those, pulled after (signed ahead, or in the pull) entries/s': Math.round(rate(ahead))
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await benchSigning()
  for (const [k, v] of Object.entries(figures)) console.log(`${k}: ${v}`)
}
