/**
 * A swarm-key holder's view of the entry protocols, for the forgery and hostile-server tests: pull everything a peer
 * serves on a given wire version (entries as sent, with their 3.0.0 chunk resolved), push raw EntriesPush
 * documents, and answer pulls with made-up SyncBatches.
 */
import type { Admitted } from '../../src/core/admit.js'
import { admitReceived, type WireVersion } from '../../src/core/admit.js'
import { entryHash, hashBytes, rebuildChunks, type Chunk } from '../../src/core/chunk.js'
import { validateEntry, type Entry } from '../../src/core/entry.js'
import { dialDirect } from '../../src/p2p/index.js'
import type { Stream } from '@libp2p/interface'
import type { EntrySigner } from '../../src/core/signature.js'
import { maxPullResponseBytes } from '../../src/protocol/constants.js'
import { closeWorkerDb } from '../../workers/db-cache.js'
import { exportBatch } from '../../workers/export-batch.js'
import { ownedBuffer, readAllCapped } from '../../src/protocol/framing.js'
import { decodeJson, encodeMessage, parseChunks, parseSyncBatch, takeChunkRefs } from '../../src/protocol/messages.js'
import type { InProcessPeer } from '../p2p/fixtures.js'

/**
 * An entry as served: its fields (origin and sig when it carried them), and from 3.0.0 on the chunk it named (on
 * 4.0.0 rebuilt whole); `place` when a 4.0.0 run covered it (it came without `k`, its hash left out of the chunk).
 */
export interface Served {
  entry: Entry
  chunk?: Chunk
  place?: number
}

/** Who an entry as served claims to come from: its chunk's origin, else its own. */
export function claimedOrigin (s: Served): string | undefined {
  return s.chunk?.origin ?? s.entry.origin
}

/** Every entry `addr` serves, pulled over exactly `wire`. */
export async function pullAll (peer: InProcessPeer, addr: string, wire: WireVersion): Promise<Served[]> {
  const { transport } = await dialDirect(peer.node, addr, { newConnection: true, wireVersions: [wire], timeoutMs: 30_000 })
  try {
    const out: Served[] = []
    let cursor = 0
    for (;;) {
      const batch = parseSyncBatch(decodeJson(await transport.pull({ cursor, limit: 1000 }), 'SyncBatch'))
      if (batch.entries.length === 0 || batch.next_cursor == null) return out
      const wireChunks = wire >= 3 ? parseChunks(batch.chunks, 'SyncBatch', wire) : []
      const places: Array<number | undefined> = []
      const refs = wire >= 3 ? takeChunkRefs(batch.entries, wireChunks, places) : []
      const entries = batch.entries.map((raw) => validateEntry(raw))
      // 4.0.0: each entry a run covers hashed, and its chunk made whole (what a receiver checks the signature of).
      const digests = Buffer.alloc(entries.length * hashBytes)
      entries.forEach((e, m) => { if (places[m] !== undefined) entryHash(e, wireChunks[refs[m]!]!.origin).copy(digests, m * hashBytes) })
      const { chunks } = rebuildChunks(wireChunks, digests, (m) => m)
      entries.forEach((entry, i) => {
        const k = refs[i]
        out.push({ entry, ...(k != null ? { chunk: chunks[k]! } : {}), ...(places[i] !== undefined ? { place: places[i] } : {}) })
      })
      cursor = batch.next_cursor
    }
  } finally {
    await transport.close()
  }
}

/** What a receiver with no connection to any origin would make of these: every signature and chunk checked. */
export function admitAll (served: readonly Served[]): Admitted {
  const chunks = [...new Set(served.flatMap((s) => s.chunk != null ? [s.chunk] : []))]
  return admitReceived(served.map((s) => s.entry), { wire: 3, now: Date.now(), chunks, chunkRef: (i) => served[i]!.chunk != null ? chunks.indexOf(served[i]!.chunk!) : undefined })
}

/** The 3.0.0 form of entries: each with `k` when it names a chunk, and the chunks once each (ids 0, 1, …). */
export function v3Message (items: ReadonlyArray<{ entry: Entry, chunk?: Chunk }>): { entries: Array<Record<string, unknown>>, chunks: Array<{ id: number, origin: string, sig: string, hashes: string }> } {
  const chunks: Chunk[] = []
  const entries = items.map(({ entry, chunk }) => {
    if (chunk == null) return { ...entry }
    let k = chunks.indexOf(chunk)
    if (k < 0) k = chunks.push(chunk) - 1
    const { origin: _o, sig: _s, ...content } = entry
    return { ...content, k }
  })
  return { entries, chunks: chunks.map((c, id) => ({ id, origin: c.origin, sig: c.sig.toString('base64'), hashes: c.hashes.toString('base64') })) }
}

/**
 * The 4.0.0 form: an item with a `place` joins a run of its chunk (no `k`: consecutive items at consecutive places
 * share a run) and its hash is left out of the chunk's `hashes`; one without a place names its chunk by `k`.
 */
export function v4Message (items: ReadonlyArray<{ entry: Entry, chunk?: Chunk, place?: number }>): { entries: Array<Record<string, unknown>>, chunks: Array<Record<string, unknown>> } {
  const chunks: Chunk[] = []
  const runs: Array<Array<[number, number, number]>> = []
  const entries = items.map(({ entry, chunk, place }, i) => {
    if (chunk == null) return { ...entry }
    let k = chunks.indexOf(chunk)
    if (k < 0) {
      k = chunks.push(chunk) - 1
      runs.push([])
    }
    const { origin: _o, sig: _s, ...content } = entry
    if (place === undefined) return { ...content, k }
    const last = runs[k]!.at(-1)
    if (last != null && last[0] + last[2] === i && last[1] + last[2] === place) last[2]++
    else runs[k]!.push([i, place, 1])
    return content
  })
  return {
    entries,
    chunks: chunks.map((c, id) => {
      const head = { id, origin: c.origin, sig: c.sig.toString('base64') }
      if (runs[id]!.length === 0) return { ...head, hashes: c.hashes.toString('base64') }
      const n = c.hashes.length / hashBytes
      const covered = new Set(runs[id]!.flatMap(([, at, count]) => Array.from({ length: count }, (_, j) => at + j)))
      const rest = Buffer.concat(Array.from({ length: n }, (_, p) => p).filter((p) => !covered.has(p)).map((p) => c.hashes.subarray(p * hashBytes, (p + 1) * hashBytes)))
      return { ...head, n, runs: runs[id], hashes: rest.toString('base64') }
    })
  }
}

/** Pushes a document (or its bytes, as they are: a crafted JSON text) over exactly `wire` as `peer` (authenticated as its own PeerId). */
export async function pushAs (peer: InProcessPeer, addr: string, message: unknown, wire: WireVersion): Promise<{ inserted: number, ignored: number, rejected?: Array<{ reason: string }> }> {
  const { transport } = await dialDirect(peer.node, addr, { newConnection: true, wireVersions: [wire], timeoutMs: 30_000 })
  try {
    return await transport.push(message instanceof Uint8Array ? message : encodeMessage(message))
  } finally {
    await transport.close()
  }
}

/**
 * Makes `peer` a hostile server of a sync-pull protocol: each request `{ cursor, limit }` gets `answer`'s document as
 * the SyncBatch, sent in 64 KiB pieces with backpressure, then the stream is closed.
 */
export async function answerPulls (peer: InProcessPeer, protocol: string, answer: (request: { cursor: number, limit: number }) => unknown): Promise<void> {
  await peer.node.handle(protocol, async (stream: Stream) => {
    const request = JSON.parse(Buffer.from(await readAllCapped(stream, 64 * 1024, 'pull')).toString()) as { cursor: number, limit: number }
    const bytes = encodeMessage(answer(request))
    for (let o = 0; o < bytes.byteLength; o += 65536) {
      if (!stream.send(bytes.subarray(o, o + 65536))) await stream.onDrain()
    }
    await stream.close()
  }, { runOnLimitedConnection: true })
}

/**
 * Pulls everything `addr` serves into `dbPath` on exactly `wire`, through the real ingest worker (`peer`'s pool): what a
 * release that speaks `wire` at most stores.
 */
export async function pullInto (peer: InProcessPeer, addr: string, dbPath: string, wire: WireVersion): Promise<{ inserted: number, rejected: number }> {
  const { transport } = await dialDirect(peer.node, addr, { newConnection: true, wireVersions: [wire], timeoutMs: 30_000 })
  try {
    let cursor = 0
    let inserted = 0
    let rejected = 0
    for (;;) {
      const payload = ownedBuffer(await transport.pull({ cursor, limit: 1000 }))
      if (transport.wire !== wire) throw new Error(`negotiated ${String(transport.wire)}`)
      const r = await peer.pool.run({ tag: 'ingest-pulled', dbPath, peerId: transport.peerId, payload, wire }, [payload.buffer as ArrayBuffer])
      inserted += r.inserted
      rejected += r.rejected.length
      if (r.nextCursor == null || r.received === 0) return { inserted, rejected }
      cursor = r.nextCursor
    }
  } finally {
    await transport.close()
  }
}

/**
 * Every page the database at `path` serves on `wire`, `limit` entries each, as the serving worker writes them
 * (exportBatch, in process), served by the device whose key is `signer` (its own entries go by `k`, the rest by runs).
 */
export function exportedPages (path: string, limit: number, wire: WireVersion, signer?: EntrySigner): Uint8Array[] {
  const pages: Uint8Array[] = []
  for (let cursor = 0; ;) {
    const page = exportBatch({ tag: 'export-batch', dbPath: path, cursor, limit, maxBytes: maxPullResponseBytes, wire, ...(signer != null ? { signer } : {}) })
    if (page.count === 0) break
    pages.push(page.payload)
    cursor = (JSON.parse(Buffer.from(page.payload).toString('utf8')) as { next_cursor: number }).next_cursor
  }
  closeWorkerDb(path)
  return pages
}
