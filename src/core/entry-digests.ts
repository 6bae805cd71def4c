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
import { canonicalEntryView, writeCanonical } from './signature.js'

interface Sha256Addon {
  /** Message i is data[ends[i - 1] .. ends[i]) (the first from 0); its SHA-256 goes to out[32 i ..]. */
  sha256Each: (data: Uint8Array, ends: Uint32Array, out: Uint8Array) => void
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

/**
 * The hash of each entry's canonical bytes under originOf(i) (src/core/signature.ts); an entry whose origin is
 * undefined is not hashed, nor is one that has no canonical bytes (a field neither string nor integer).
 */
export function entryDigests (entries: readonly Entry[], originOf: (i: number) => string | undefined): EntryDigests {
  const n = entries.length
  const out: EntryDigests = { digests: Buffer.allocUnsafe(32 * n), hashed: new Uint8Array(n) }
  const native = sha256Addon()
  if (native == null) {
    for (let i = 0; i < n; i++) {
      const origin = originOf(i)
      if (origin === undefined) continue
      try {
        sha256(canonicalEntryView(entries[i]!, origin)).copy(out.digests, 32 * i)
        out.hashed[i] = 1
      } catch {}
    }
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
