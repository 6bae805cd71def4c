/**
 * Bytes of a history file to text. Pure.
 * - Valid UTF-8 decodes as UTF-8.
 * - A byte that is not part of a valid UTF-8 sequence is read as Windows-1252 (old histories written under a
 *   Latin-1/CP1252 locale come back readable: `caf\xe9` → `café`); the five bytes CP1252 leaves undefined become
 *   U+FFFD. Never throws.
 * - zsh "metafies" its history file: byte 0x83 (Meta) is followed by the real byte XOR 0x20. unmetafy undoes it.
 */
import { isUtf8 } from 'node:buffer'

const meta = 0x83

/** Undoes zsh's metafication; returns the input itself when there is nothing to undo. */
export function unmetafy (bytes: Uint8Array): Uint8Array {
  let i = bytes.indexOf(meta)
  if (i === -1) return bytes
  const out = new Uint8Array(bytes.length)
  out.set(bytes.subarray(0, i))
  let o = i
  for (; i < bytes.length; i++) {
    const b = bytes[i]!
    if (b === meta && i + 1 < bytes.length) out[o++] = bytes[++i]! ^ 0x20
    else out[o++] = b
  }
  return out.subarray(0, o)
}

// Windows-1252 for 0x80–0x9F (U+FFFD where it defines nothing).
const cp1252High = '€\uFFFD‚ƒ„…†‡ˆ‰Š‹Œ\uFFFDŽ\uFFFD\uFFFD‘’“”•–—˜™š›œ\uFFFDžŸ'

function cp1252 (b: number): string {
  return b >= 0xa0 ? String.fromCharCode(b) : cp1252High[b - 0x80]!
}

/** Length of the valid UTF-8 sequence starting at i, or 0 when the byte there does not start one. */
function sequenceLength (bytes: Uint8Array, i: number): number {
  const b = bytes[i]!
  if (b < 0x80) return 1
  const cont = (at: number, lo = 0x80, hi = 0xbf): boolean => at < bytes.length && bytes[at]! >= lo && bytes[at]! <= hi
  if (b >= 0xc2 && b <= 0xdf) return cont(i + 1) ? 2 : 0
  if (b >= 0xe0 && b <= 0xef) {
    const lo = b === 0xe0 ? 0xa0 : 0x80
    const hi = b === 0xed ? 0x9f : 0xbf
    return cont(i + 1, lo, hi) && cont(i + 2) ? 3 : 0
  }
  if (b >= 0xf0 && b <= 0xf4) {
    const lo = b === 0xf0 ? 0x90 : 0x80
    const hi = b === 0xf4 ? 0x8f : 0xbf
    return cont(i + 1, lo, hi) && cont(i + 2) && cont(i + 3) ? 4 : 0
  }
  return 0
}

export interface Decoded {
  text: string
  /** True when some bytes were not valid UTF-8 (and were read as CP1252). */
  repaired: boolean
}

export function decodeBytes (bytes: Uint8Array): Decoded {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (isUtf8(buf)) return { text: buf.toString('utf8'), repaired: false }
  let text = ''
  let runStart = 0
  let i = 0
  while (i < buf.length) {
    const n = sequenceLength(buf, i)
    if (n > 0) { i += n; continue }
    text += buf.toString('utf8', runStart, i) + cp1252(buf[i]!)
    i++
    runStart = i
  }
  text += buf.toString('utf8', runStart, buf.length)
  return { text, repaired: true }
}
