/**
 * Chunk signatures (wire 3.0.0, docs/PROTOCOL.md "Chunk signatures (3.0.0)"): a device signs a manifest of up to
 * maxChunkEntries of its own entries at once, one Ed25519 signature over their SHA-256 hashes, instead of one
 * signature per entry on the wire. A receiver checks the manifest once (one verify per chunk) and each entry by
 * hashing it: an entry is the origin's iff its hash is in a manifest the origin signed. No I/O.
 *
 * Manifest bytes: the ASCII domain tag `rustory-chunk-sig/1` and a NUL byte, the origin PeerId's length as a 4-byte
 * big-endian unsigned integer and the PeerId in ASCII, then n × SHA-256(canonicalEntryBytes(entry, origin)). The
 * entry hash is over exactly the bytes a per-entry signature covers (src/core/signature.ts), so the two can never
 * disagree on what an entry's content is; entry_id (a random UUID) is in them, so a hash reveals no command.
 */
import * as nodeCrypto from 'node:crypto'
import type { Entry } from './entry.js'
import { canonicalEntryView, publicKeyOfPeerId, signBytes, verifyDetached, type EntrySigner, type VerificationInput } from './signature.js'

const chunkTag = Buffer.from('rustory-chunk-sig/1\u0000', 'ascii')

/** Entries per manifest: small enough that a page cut inside a chunk carries few hashes it does not use (32 bytes each). */
export const maxChunkEntries = 256
/** What a receiver accepts in one manifest (a signer may use a larger chunk than ours): bounds the work per chunk. */
export const maxReceivedChunkEntries = 4096
export const hashBytes = 32

/** A signed manifest: who signed, the signature (64 bytes), and the entry hashes end to end (n × 32 bytes). */
export interface Chunk {
  origin: string
  sig: Buffer
  hashes: Buffer
}

const oneShot = (nodeCrypto as { hash?: (algorithm: string, data: Buffer, encoding: 'buffer' | 'hex') => Buffer | string }).hash

export function sha256 (bytes: Buffer): Buffer {
  // crypto.hash (Node 20.12+, 21.7+): one call, no Hash object; about half the cost for a few hundred bytes.
  return oneShot != null ? oneShot('sha256', bytes, 'buffer') as Buffer : nodeCrypto.createHash('sha256').update(bytes).digest()
}

/** SHA-256 of the entry's canonical bytes under origin: what a manifest lists for it. */
export function entryHash (entry: Entry, origin: string): Buffer {
  return sha256(canonicalEntryView(entry, origin))
}

/** The bytes a manifest's signature covers. */
export function chunkMessage (origin: string, hashes: Buffer): Buffer {
  const id = Buffer.from(origin, 'ascii')
  const out = Buffer.allocUnsafe(chunkTag.length + 4 + id.length + hashes.length)
  let at = chunkTag.copy(out, 0)
  at = out.writeUInt32BE(id.length, at)
  at += id.copy(out, at)
  hashes.copy(out, at)
  return out
}

/** The signer's manifest over entry hashes it made (n × 32 bytes, each under signer.origin). */
export function signHashes (hashes: Buffer, signer: EntrySigner): Chunk {
  return { origin: signer.origin, sig: signBytes(chunkMessage(signer.origin, hashes), signer.secretKey), hashes }
}

/** The signer's manifest over these entries (each hashed under signer.origin). */
export function signChunk (entries: readonly Entry[], signer: EntrySigner): Chunk {
  return signHashes(Buffer.concat(entries.map((e) => entryHash(e, signer.origin))), signer)
}

/** What checking a manifest's signature takes, or undefined when a part is malformed (it cannot verify). */
export function chunkVerificationInput (chunk: Chunk): VerificationInput | undefined {
  const publicKey = publicKeyOfPeerId(chunk.origin)
  if (publicKey == null || chunk.sig.length !== 64 || chunk.hashes.length % hashBytes !== 0) return undefined
  return { message: chunkMessage(chunk.origin, chunk.hashes), signature: chunk.sig, publicKey }
}

/** True when chunk.sig is chunk.origin's signature over its manifest. False on any malformed part. */
export function verifyChunk (chunk: Chunk): boolean {
  const input = chunkVerificationInput(chunk)
  return input != null && verifyDetached(input.signature, input.message, input.publicKey)
}

/**
 * Checks entries against one chunk's hashes. Entries mostly come in the order they were signed, so each is first
 * compared with the hash after the last one found, in place; only out of order is the whole list looked up (a map
 * of hex digests to their place, built on first need).
 */
export class ChunkHashes {
  #next = 0
  #places: Map<string, number> | undefined
  constructor (readonly chunk: Chunk) {}

  /** True when the entry, under the chunk's origin, is one of its hashes. False on a malformed entry. */
  has (entry: Entry): boolean {
    let digest: Buffer
    try {
      digest = sha256(canonicalEntryView(entry, this.chunk.origin))
    } catch {
      return false
    }
    return this.hasDigest(digest, 0)
  }

  /** True when digests[32 i .. 32 i + 32) (an entry's hash, src/core/entry-digests.ts) is one of the chunk's hashes. */
  hasDigest (digests: Uint8Array, i: number): boolean {
    return this.positionOf(digests, i) >= 0
  }

  /** The place in the manifest of the hash digests[32 i .. 32 i + 32) (one of them, if listed twice); -1 when absent. */
  positionOf (digests: Uint8Array, i: number): number {
    const hashes = this.chunk.hashes
    const at = i * hashBytes
    // Aligned on a whole hash: a match there is that hash, all 32 bytes.
    const next = this.#next * hashBytes
    if (next + hashBytes <= hashes.length) {
      let b = 0
      while (b < hashBytes && digests[at + b] === hashes[next + b]) b++
      if (b === hashBytes) return this.#next++
    }
    if (this.#places == null) {
      this.#places = new Map()
      for (let p = hashes.length - hashBytes; p >= 0; p -= hashBytes) this.#places.set(hashes.toString('hex', p, p + hashBytes), p / hashBytes)
    }
    const place = this.#places.get(Buffer.from(digests.buffer, digests.byteOffset + at, hashBytes).toString('hex'))
    if (place === undefined) return -1
    this.#next = place + 1
    return place
  }
}

/** A chunk as a 4.0.0 message may carry it: `runs` put entries of the message at places of its manifest. */
export interface ChunkWithRuns extends Chunk {
  /** [first entry (its place in the message's `entries`), first place in the manifest, count], each run. */
  runs?: ReadonlyArray<readonly [number, number, number]>
  /** The manifest's length when `runs` is given (`hashes` then holds only the places no run covers). */
  n?: number
}

/**
 * 4.0.0: the manifest of each chunk with runs, whole again: at each place a run covers, the hash of the entry it
 * covers (as the receiver computed it); at every other place, in order, the chunk's own `hashes`. Only the whole
 * manifest its origin signed verifies against the signature, so an altered entry in a run fails its whole chunk
 * (in this message: the entries come again, genuine, from another peer or the origin). A chunk without runs is
 * returned as it is. `hashOf(m)`: where the digest of the message's entry m is in `digests`, or -1 when it has none
 * (invalid, or not hashed); then the chunk is not rebuilt, and `unbuilt` says why, by the chunk's place.
 */
export function rebuildChunks (chunks: readonly ChunkWithRuns[], digests: Uint8Array, hashOf: (m: number) => number): { chunks: Chunk[], unbuilt: Map<number, string> } {
  const unbuilt = new Map<number, string>()
  // One buffer for every manifest of the message, and one map of covered places: a page names 4 or 5 manifests of
  // 8 KB each, and an allocation each was most of what a relayed ingest allocated beyond an unsigned one (measured).
  let places = 0
  let longest = 0
  for (const c of chunks) {
    if (c.runs == null || c.n == null) continue
    places += c.n
    longest = Math.max(longest, c.n)
  }
  const all = Buffer.allocUnsafe(places * hashBytes)
  const covered = new Uint8Array(longest)
  let next = 0
  const rebuilt = chunks.map((c, k): Chunk => {
    if (c.runs == null || c.n == null) return c
    const whole = all.subarray(next * hashBytes, (next + c.n) * hashBytes)
    next += c.n
    covered.fill(0, 0, c.n)
    for (const [first, at, count] of c.runs) {
      for (let j = 0; j < count;) {
        const i = hashOf(first + j)
        if (i < 0) {
          unbuilt.set(k, `entry ${first + j}, which a run covers, is not valid`)
          return { origin: c.origin, sig: c.sig, hashes: Buffer.alloc(0) }
        }
        // The longest stretch from here whose digests lie end to end (the whole run when every entry of the message
        // is valid), copied at once: a copy per entry was an object per entry, and byte by byte 20 ms per 200k.
        let length = 1
        while (j + length < count && hashOf(first + j + length) === i + length) length++
        whole.set(digests.subarray(i * hashBytes, (i + length) * hashBytes), (at + j) * hashBytes)
        j += length
      }
      covered.fill(1, at, at + count)
    }
    let from = 0
    for (let place = 0; place < c.n; place++) {
      if (covered[place] === 1) continue
      c.hashes.copy(whole, place * hashBytes, from, from + hashBytes)
      from += hashBytes
    }
    return { origin: c.origin, sig: c.sig, hashes: whole }
  })
  return { chunks: rebuilt, unbuilt }
}
