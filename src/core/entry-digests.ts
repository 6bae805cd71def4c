/**
 * The SHA-256 of many entries' canonical bytes at once: what checking a relayed 3.0.0 batch against its chunk
 * manifests takes, a hash per entry. node:crypto makes one native call per hash, about 1 µs each for an entry's
 * ~380 canonical bytes, where the hashing itself (OpenSSL, with the CPU's SHA extensions) is about a tenth of that.
 * Here the entries' canonical bytes are laid end to end and hashed in one call to rustory's addon
 * (native/sha256-each.c, OpenSSL's SHA256() on each), built beside the SO_REUSEPORT one by `npm install`. Without it
 * (no compiler at install, another layout) each entry is hashed with node:crypto: the same digests, slower.
 */
import { createRequire } from 'node:module'
import { sha256 } from './chunk.js'
import type { Entry } from './entry.js'
import { canonicalEntryView, canonicalLayout, canonicalTail, writeCanonical } from './signature.js'

interface Sha256Addon {
  /** Message i is data[ends[i - 1] .. ends[i]) (the first from 0); its SHA-256 goes to out[32 i ..]. */
  sha256Each: (data: Uint8Array, ends: Uint32Array, out: Uint8Array) => void
  /**
   * Entry i of the message's top-level `entries` hashed under tail which[i] (none when -1), its canonical bytes
   * written from the JSON text: its digest to out[32 i ..] and state[i] 1, or state[i] 2 when it is not in the plain
   * form (left to JS). Returns the number of items in `entries`, or -1 when the message is not read at all.
   */
  sha256EntriesJson?: (json: Uint8Array, tag: Uint8Array, names: Uint8Array, optional: Uint8Array, tails: Uint8Array,
    tailEnds: Uint32Array, which: Int32Array, out: Uint8Array, state: Uint8Array) => number
}

/** Where the addon is, relative to this module (dist/src/core/ after the build). */
export const sha256AddonPath = new URL('../../../build/Release/rr_sha256.node', import.meta.url)

let addon: Sha256Addon | null | undefined

/** The addon, or null when it cannot load (asked once per process, on first use: never on the record path). */
export function sha256Addon (): Sha256Addon | null {
  if (addon !== undefined) return addon
  try {
    const module = createRequire(import.meta.url)(sha256AddonPath.pathname) as Partial<Sha256Addon>
    addon = typeof module.sha256Each === 'function' ? module as Sha256Addon : null
  } catch {
    addon = null
  }
  return addon
}

/** Forces the node:crypto path (null) or the addon (undefined: loaded again on next use). For tests and the bench. */
export function useSha256Addon (use: boolean): void {
  addon = use ? undefined : null
}

/** digests[32 i .. 32 i + 32) is entry i's hash when hashed[i] is 1; 0 for one not asked for, or malformed. */
export interface EntryDigests {
  digests: Buffer
  hashed: Uint8Array
}

/** Where entries' canonical bytes are laid end to end: kept between calls, grown on need. */
let laid = Buffer.allocUnsafe(1 << 20)

/** Entry i's hash into out (node:crypto, one call), unless its origin is undefined or it has no canonical bytes. */
function hashOne (out: EntryDigests, i: number, entry: Entry, origin: string | undefined): void {
  if (origin === undefined) return
  try {
    sha256(canonicalEntryView(entry, origin)).copy(out.digests, 32 * i)
    out.hashed[i] = 1
  } catch {}
}

/**
 * The hash of each entry's canonical bytes under originOf(i) (src/core/signature.ts); an entry whose origin is
 * undefined is not hashed, nor is one that has no canonical bytes (a field neither string nor integer).
 */
export function entryDigests (entries: readonly Entry[], originOf: (i: number) => string | undefined): EntryDigests {
  const n = entries.length
  const out: EntryDigests = { digests: Buffer.allocUnsafe(32 * n), hashed: new Uint8Array(n) }
  const native = sha256Addon()
  if (native == null) {
    for (let i = 0; i < n; i++) hashOne(out, i, entries[i]!, originOf(i))
    return out
  }
  const ends = new Uint32Array(n)
  let at = 0
  for (let i = 0; i < n; i++) {
    const origin = originOf(i)
    if (origin !== undefined) {
      try {
        let end = writeCanonical(entries[i]!, origin, laid, at)
        if (end < 0) {
          const grown = Buffer.allocUnsafe(Math.max(-end, 2 * laid.length))
          laid.copy(grown, 0, 0, at)
          laid = grown
          end = writeCanonical(entries[i]!, origin, laid, at)
        }
        at = end
        out.hashed[i] = 1
      } catch {}
    }
    // Not hashed: an empty message, its digest never read.
    ends[i] = at
  }
  native.sha256Each(laid, ends, out.digests)
  return out
}

/** A received message as its entries were hashed from: its JSON text, its entries as parsed, and validateBatch's map. */
export interface ReceivedText {
  json: Uint8Array
  /** The message's entries as JSON.parse gave them (before validation), in the order of its `entries`. */
  raw: readonly unknown[]
  /** indexes[i]: the place in `raw` of the validated entry i. */
  indexes: readonly number[]
}

/**
 * entryDigests for validated entries of a received message, with their canonical bytes written from the message's
 * JSON text in native code (native/sha256-each.c, sha256EntriesJson) instead of in JS from the parsed entries: the
 * same bytes (the same layout, passed from signature.ts), without a JS pass over every field. An entry is taken from
 * the native pass only when validation kept its two normalized fields as received (entry_id in lower case, ts in
 * canonical form), and only in the plain form rustory writes; any other (an escaped key, a lone surrogate…) and every
 * entry when the addon is missing or cannot read the message, are written by writeCanonical.
 */
export function receivedDigests (text: ReceivedText, entries: readonly Entry[], originOf: (i: number) => string | undefined): EntryDigests {
  const native = sha256Addon()?.sha256EntriesJson
  const n = entries.length
  if (native == null || n === 0) return entryDigests(entries, originOf)
  const { raw, indexes } = text
  const which = new Int32Array(raw.length).fill(-1)
  const tails: Buffer[] = []
  const tailOf = new Map<string, number>()
  for (let i = 0; i < n; i++) {
    const origin = originOf(i)
    if (origin === undefined) continue
    let t = tailOf.get(origin)
    if (t === undefined) {
      tailOf.set(origin, t = tails.length)
      tails.push(canonicalTail(origin))
    }
    which[indexes[i]!] = t
  }
  if (tails.length === 0) return entryDigests(entries, originOf)
  const tailEnds = new Uint32Array(tails.length)
  tails.reduce((end, tail, t) => (tailEnds[t] = end + tail.length), 0)
  const byPlace = Buffer.allocUnsafe(32 * raw.length)
  const state = new Uint8Array(raw.length)
  const items = native(text.json, canonicalLayout.tag, canonicalLayout.names, canonicalLayout.optional, Buffer.concat(tails), tailEnds, which, byPlace, state)
  if (items !== raw.length) return entryDigests(entries, originOf)
  const same = n === raw.length
  const out: EntryDigests = { digests: same ? byPlace : Buffer.allocUnsafe(32 * n), hashed: new Uint8Array(n) }
  for (let i = 0; i < n; i++) {
    const m = indexes[i]!
    if (which[m]! < 0) continue
    const received = raw[m] as { entry_id?: unknown, ts?: unknown }
    if (state[m] === 1 && received.entry_id === entries[i]!.entry_id && received.ts === entries[i]!.ts) {
      // With every item valid, entry i is item i and its digest is in place already.
      if (!same) byPlace.copy(out.digests, 32 * i, 32 * m, 32 * m + 32)
      out.hashed[i] = 1
    } else {
      hashOne(out, i, entries[i]!, originOf(i))
    }
  }
  return out
}
