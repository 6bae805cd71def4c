/**
 * A streaming line reader over a file: raw byte lines (no decoding: zsh's metafied bytes and invalid UTF-8 must be
 * seen as bytes), each with the file offset just past it. Memory holds one read chunk plus the current line.
 */
import { open } from 'node:fs/promises'

export interface RawLine {
  /** Without the '\n'. A view into a read buffer: copy it to keep it past the next line. */
  bytes: Uint8Array
  /** Offset just past this line's newline (or the end of the file). */
  end: number
}

const KiB = 1024

/** Yields the lines of each read chunk together (one await per chunk, not per line). */
export async function * readLines (path: string, chunkBytes = 256 * KiB): AsyncGenerator<RawLine[]> {
  const file = await open(path, 'r')
  try {
    let offset = 0
    let carry: Buffer[] = []
    let carryBytes = 0
    for (;;) {
      const chunk = Buffer.allocUnsafe(chunkBytes)
      const { bytesRead } = await file.read(chunk, 0, chunkBytes, null)
      if (bytesRead === 0) break
      const data = chunk.subarray(0, bytesRead)
      let start = 0
      const lines: RawLine[] = []
      for (;;) {
        const nl = data.indexOf(0x0a, start)
        if (nl === -1) break
        let bytes: Uint8Array = data.subarray(start, nl)
        if (carryBytes > 0) {
          carry.push(data.subarray(start, nl))
          bytes = Buffer.concat(carry, carryBytes + (nl - start))
          carry = []
          carryBytes = 0
        }
        offset += nl - start + 1
        start = nl + 1
        lines.push({ bytes, end: offset })
      }
      if (lines.length > 0) yield lines
      if (start < data.length) {
        carry.push(data.subarray(start))
        carryBytes += data.length - start
        offset += data.length - start
      }
    }
    if (carryBytes > 0) yield [{ bytes: Buffer.concat(carry, carryBytes), end: offset }]
  } finally {
    await file.close()
  }
}
