/**
 * The one base of rustory's errors. Each carries what the command boundary and the sync machines need to know:
 * its exit code, whether retrying can help (atuin's is_permanent), and whether its message is written for the
 * user (names the thing and the fix: printed as one line, no stack). Matched by `.name` and these fields, never by
 * instanceof (errors cross workers and copies of modules). Pure: no I/O.
 */

export interface RustoryErrorOptions {
  /** The process exit code when this error ends a command. @default 1 */
  exitCode?: number
  /** True when retrying cannot help (wrong swarm key, bad token, protocol violation). @default false */
  permanent?: boolean
  /** The message names the problem and the fix; printed as one line without a stack. @default true */
  userFacing?: boolean
  cause?: unknown
}

export class RustoryError extends Error {
  static override readonly name: string = 'RustoryError'
  override readonly name: string = 'RustoryError'
  readonly exitCode: number
  readonly permanent: boolean
  readonly userFacing: boolean

  constructor (message: string, options: RustoryErrorOptions = {}) {
    super(message, options.cause !== undefined ? { cause: options.cause } : undefined)
    this.exitCode = options.exitCode ?? 1
    this.permanent = options.permanent ?? false
    this.userFacing = options.userFacing ?? true
  }
}

/** A mistake in how rr was called (a bad flag value, a missing argument): exit 2, the message says the right way. */
export class UsageError extends RustoryError {
  static override readonly name = 'UsageError'
  override readonly name = 'UsageError'
  constructor (message: string, options: Omit<RustoryErrorOptions, 'exitCode'> = {}) {
    super(message, { ...options, exitCode: 2 })
  }
}

/** Whether an error's message is written for the user (one line, no stack). */
export function isUserFacing (err: unknown): err is Error & { exitCode?: number } {
  return err instanceof Error && (err as { userFacing?: unknown }).userFacing === true
}

/** The exit code an error asks for: its own, else 1. */
export function exitCodeOf (err: unknown): number {
  const code = (err as { exitCode?: unknown } | undefined)?.exitCode
  return typeof code === 'number' && Number.isInteger(code) && code > 0 && code < 256 ? code : 1
}

/**
 * The one line (or, with `debug`, the stack) that `rr` prints for an error that ends a command. A user-facing error
 * is its message; anything else is its message with a hint: a stack helps only someone filing a bug.
 */
export function errorReport (err: unknown, debug: boolean): string {
  const e = err instanceof Error ? err : new Error(String(err))
  if (debug) return `rr: ${e.stack ?? e.message}`
  const message = e.message.split('\n').map((l) => l.trim()).filter((l) => l !== '').join(' ')
  if (isUserFacing(e)) return `rr: ${message}`
  return `rr: ${message === '' ? e.name : message} (unexpected error; RUSTORY_DEBUG=1 shows where it came from)`
}

/** A listen address another process already holds; the message names the flag that chooses another. */
export class AddressInUseError extends RustoryError {
  static override readonly name = 'AddressInUseError'
  override readonly name = 'AddressInUseError'
  constructor (readonly address: string, readonly flag: string, cause?: unknown) {
    super(`${address} is already in use (another rr or another program listens there): stop that one, or choose another address with ${flag}`, { cause })
  }
}

/** Whether an error (or one it wraps, as libp2p's listen errors do) is EADDRINUSE. */
export function isAddressInUse (err: unknown): boolean {
  let e = err as { code?: unknown, message?: unknown, cause?: unknown } | undefined
  for (let depth = 0; e != null && depth < 5; depth++) {
    if (e.code === 'EADDRINUSE' || (typeof e.message === 'string' && /EADDRINUSE|address already in use/i.test(e.message))) return true
    e = e.cause as typeof e
  }
  return false
}

/** libp2p's "Some configured addresses failed to be listened on …" for a port in use, as one line naming --listen. */
export function listenError (err: unknown, listen: readonly string[]): unknown {
  if (!isAddressInUse(err)) return err
  const message = err instanceof Error ? err.message : ''
  const address = /(\/ip[46]\/[^\s/]+\/tcp\/\d+)/.exec(message)?.[1] ?? listen.join(', ')
  return new AddressInUseError(address, '--listen', err)
}
