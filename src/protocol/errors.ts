/**
 * Sync errors carry `permanent`: whether retrying can help (atuin's is_permanent). The machine's retry guard
 * reads it. Matched by `.name`, never by instanceof across workers/processes.
 */
import { RustoryError } from '../core/errors.js'

export class SyncError extends RustoryError {
  static override readonly name: string = 'SyncError'
  override readonly name: string = 'SyncError'
  /** `permanent`: true when retrying cannot help (wrong swarm key, bad token, protocol violation). */
  constructor (message: string, options: { permanent?: boolean | undefined, cause?: unknown } = {}) {
    super(message, { permanent: options.permanent ?? false, cause: options.cause })
  }
}

/** A message passed its size cap; the syncing side halves `limit` and retries. */
export class MessageTooLargeError extends SyncError {
  static override readonly name = 'MessageTooLargeError'
  override readonly name = 'MessageTooLargeError'
  constructor (readonly what: string, readonly capBytes: number) {
    super(`message too large: ${what} exceeds ${capBytes} bytes`)
  }
}

/** The other side sent something that is not the protocol (malformed JSON, wrong types). */
export class ProtocolError extends SyncError {
  static override readonly name = 'ProtocolError'
  override readonly name = 'ProtocolError'
  constructor (message: string) {
    super(message, { permanent: true })
  }
}

/** The private-network handshake failed: almost always a different swarm.key on the two machines. */
export class SwarmKeyMismatchError extends SyncError {
  static override readonly name = 'SwarmKeyMismatchError'
  override readonly name = 'SwarmKeyMismatchError'
  constructor (readonly address: string, cause?: unknown) {
    super(`private-network handshake with ${address} failed: the swarm keys likely differ (compare \`rr swarm-key\` on both machines and copy the same swarm.key to each)`, { permanent: true, cause })
  }
}

/** A dial failed (refused, timed out, unreachable). Transient. */
export class DialError extends SyncError {
  static override readonly name = 'DialError'
  override readonly name = 'DialError'
}

export function isPermanent (err: unknown): boolean {
  return typeof err === 'object' && err != null && (err as { permanent?: unknown }).permanent === true
}

/**
 * A readable reason for anything thrown. libp2p sometimes rejects a dial with the stream's close *event* (a
 * StreamAbortEvent without an error when the other side resets the connection mid-handshake), which String()
 * turns into `[object Event]`; such an event is described by what it means.
 */
export function errorMessage (err: unknown): string {
  if (err instanceof Error) return err.message !== '' ? err.message : err.name
  if (isEventLike(err)) {
    const inner = (err as { error?: unknown }).error
    if (inner != null && inner !== err) return errorMessage(inner)
    return `the connection was closed by the other side with no reason given (${err.constructor.name} '${err.type}')`
  }
  const text = String(err)
  return /^\[object \w+\]$/.test(text) ? `an unexpected ${text.slice(8, -1)} value was thrown` : text
}

function isEventLike (value: unknown): value is { type: string, constructor: { name: string } } {
  return typeof value === 'object' && value != null && (typeof Event === 'function' && value instanceof Event)
}

/** The peer does not serve a protocol (an older release): callers may skip what needs it. Retrying cannot help. */
export class UnsupportedProtocolError extends SyncError {
  static override readonly name = 'UnsupportedProtocolError'
  override readonly name = 'UnsupportedProtocolError'
  constructor (message: string) {
    super(message, { permanent: true })
  }
}
