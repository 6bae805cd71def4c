/**
 * Sync errors carry `permanent`: whether retrying can help (atuin's is_permanent). The machine's retry guard
 * reads it. Matched by `.name`, never by instanceof across workers/processes.
 */

export class SyncError extends Error {
  static override readonly name: string = 'SyncError'
  override readonly name: string = 'SyncError'
  /** True when retrying cannot help (wrong swarm key, bad token, protocol violation). */
  readonly permanent: boolean
  constructor (message: string, options: { permanent?: boolean, cause?: unknown } = {}) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined)
    this.permanent = options.permanent ?? false
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

export function errorMessage (err: unknown): string {
  return err instanceof Error ? err.message : String(err)
}

/** The peer does not serve a protocol (an older release): callers may skip what needs it. Retrying cannot help. */
export class UnsupportedProtocolError extends SyncError {
  static override readonly name = 'UnsupportedProtocolError'
  override readonly name = 'UnsupportedProtocolError'
  constructor (message: string) {
    super(message, { permanent: true })
  }
}
