/**
 * One JSON document per direction over a libp2p stream: write with backpressure, read to end of stream under a
 * cap, and a deadline that resets the stream so a slow or silent peer cannot hold it forever.
 */
import type { Stream } from '@libp2p/interface'
import { maxPushResponseBytes } from '../protocol/constants.js'
import { MessageTooLargeError, ProtocolError, SyncError } from '../protocol/errors.js'
import { readAllCapped, type Chunk } from '../protocol/framing.js'
import type { BudgetHold } from './byte-budget.js'
import { encodeMessage } from '../protocol/messages.js'

/** Bytes handed to the stream per send(): big enough to keep the pipe full, small enough to honor backpressure. */
const writeChunkBytes = 256 * 1024

export class StreamTimeoutError extends Error {
  static override readonly name = 'StreamTimeoutError'
  override readonly name = 'StreamTimeoutError'
}

/** Writes all bytes, waiting for the stream to drain whenever send() says it is full. */
export async function writeAll (stream: Stream, bytes: Uint8Array, signal?: AbortSignal): Promise<void> {
  for (let offset = 0; offset < bytes.byteLength; offset += writeChunkBytes) {
    signal?.throwIfAborted()
    const chunk = bytes.subarray(offset, Math.min(offset + writeChunkBytes, bytes.byteLength))
    if (!stream.send(chunk)) await stream.onDrain(signal != null ? { signal } : {})
  }
}

/**
 * Reads the peer's document to end of stream; MessageTooLargeError as soon as it passes capBytes. A connection that
 * drops mid-document also ends the stream without an error, so the document only counts as complete when the peer
 * half-closed (FIN); otherwise this is a transient SyncError, never a truncated document.
 */
export async function readDocument (stream: Stream, capBytes: number, what: string, hold?: BudgetHold): Promise<Uint8Array> {
  let finished = stream.remoteWriteStatus === 'closed' && stream.status === 'open'
  const onFin = (): void => { finished = true }
  stream.addEventListener('remoteCloseWrite', onFin, { once: true })
  try {
    const bytes = await readAllCapped(hold != null ? counted(stream, hold) : stream, capBytes, what)
    if (!finished) throw new SyncError(`${what}: the connection closed after ${bytes.byteLength} bytes, before the whole document arrived`)
    return bytes
  } finally {
    stream.removeEventListener('remoteCloseWrite', onFin)
  }
}

/** The stream's chunks, each counted against the budget hold before it is kept. */
async function * counted (source: AsyncIterable<Chunk>, hold: BudgetHold): AsyncGenerator<Uint8Array> {
  for await (const chunk of source) {
    const bytes = chunk instanceof Uint8Array ? chunk : chunk.subarray()
    hold.take(bytes.byteLength)
    yield bytes
  }
}

/**
 * Resets the stream when `ms` pass or `signal` aborts, whichever comes first. Returns a function that disarms it.
 * Resetting ends any pending read (it throws) and write (onDrain rejects) on both sides.
 */
export function armDeadline (stream: Stream, ms: number, what: string, signal?: AbortSignal): () => void {
  const timer = setTimeout(() => stream.abort(new StreamTimeoutError(`${what}: no complete exchange within ${ms} ms`)), ms)
  timer.unref?.()
  const onAbort = (): void => stream.abort(signal?.reason instanceof Error ? signal.reason : new StreamTimeoutError(`${what}: aborted`))
  signal?.addEventListener('abort', onAbort, { once: true })
  if (signal?.aborted === true) onAbort()
  return () => {
    clearTimeout(timer)
    signal?.removeEventListener('abort', onAbort)
  }
}

/** Machine-readable reasons in an error document, so the caller can react (halve `limit` on too_large). */
export type ErrorCode = 'too_large' | 'entry_too_large' | 'malformed' | 'internal' | 'busy'

export interface ErrorDocument {
  error: string
  code?: ErrorCode
  entry_id?: string
}

export function encodeError (doc: ErrorDocument): Uint8Array {
  return encodeMessage({ ...doc, error: doc.error.slice(0, 1000) })
}

/**
 * Recognizes an error document among small replies (a normal SyncBatch starts with `{"entries"`), and turns it into
 * the error the sync engine expects. Returns undefined for anything else.
 */
export function errorFromReply (bytes: Uint8Array, what: string, capBytes: number): Error | undefined {
  if (bytes.byteLength > maxPushResponseBytes) return undefined
  let value: unknown
  try {
    value = JSON.parse(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8'))
  } catch {
    return undefined
  }
  if (value == null || typeof value !== 'object' || Array.isArray(value)) return undefined
  const doc = value as Partial<ErrorDocument> & { entries?: unknown, ok?: unknown }
  if (typeof doc.error !== 'string' || doc.entries !== undefined || doc.ok === true) return undefined
  if (doc.code === 'busy') return new SyncError(`peer is busy with the ${what}: ${doc.error.slice(0, 300)}`)
  if (doc.code === 'too_large' || doc.code === 'entry_too_large') {
    const err = new MessageTooLargeError(`${what} (peer says: ${doc.error.slice(0, 300)})`, capBytes)
    return Object.assign(err, { entryId: typeof doc.entry_id === 'string' ? doc.entry_id : undefined })
  }
  return new ProtocolError(`peer refused the ${what}: ${doc.error.slice(0, 500)}`)
}
