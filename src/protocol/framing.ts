/**
 * Framing shared by every transport: one JSON document per direction, read to end of stream, refused as soon as
 * it passes its cap (never buffered past it).
 */
import { MessageTooLargeError } from './errors.js'

/** A chunk as libp2p streams and Node streams yield them: Uint8Array, Buffer, or Uint8ArrayList. */
export type Chunk = Uint8Array | { subarray: () => Uint8Array }

export async function readAllCapped (source: AsyncIterable<Chunk>, capBytes: number, what: string): Promise<Uint8Array> {
  const chunks: Uint8Array[] = []
  let total = 0
  for await (const chunk of source) {
    const bytes = chunk instanceof Uint8Array ? chunk : chunk.subarray()
    total += bytes.byteLength
    if (total > capBytes) throw new MessageTooLargeError(what, capBytes)
    chunks.push(bytes)
  }
  // Always a fresh buffer of our own: callers may transfer it to a worker, which must never detach memory that
  // belongs to a socket or a shared pool.
  return concatBytes(chunks, total)
}

/** Joins chunks into one new buffer (a copy even for a single chunk). */
export function concatBytes (chunks: readonly Uint8Array[], total = chunks.reduce((n, c) => n + c.byteLength, 0)): Uint8Array {
  const out = new Uint8Array(total)
  let offset = 0
  for (const c of chunks) {
    out.set(c, offset)
    offset += c.byteLength
  }
  return out
}

/**
 * A buffer that may be transferred to a worker: the view itself when it spans all of its own ArrayBuffer, else a
 * copy. Transferring detaches the whole ArrayBuffer, so a view into memory shared with others (a socket's chunk,
 * Node's Buffer pool) must never be transferred as it is.
 */
export function ownedBuffer (bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer ? bytes : bytes.slice()
}
