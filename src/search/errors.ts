/**
 * Errors of search, history and import; each message says what to do. The base (exit code, one-line printing)
 * is src/core/errors.ts.
 */
import { RustoryError } from '../core/errors.js'

export { UsageError } from '../core/errors.js'

/** fzf is not on PATH; interactive search needs it (`--filter` does not). */
export class FzfMissingError extends RustoryError {
  static override readonly name = 'FzfMissingError'
  override readonly name = 'FzfMissingError'
  constructor () {
    super('fzf not found on PATH; ctrl+r search needs it. Install it: apt-get install fzf / brew install fzf / ' +
      'https://github.com/junegunn/fzf#installation (`rr search --filter QUERY` works without it)', { exitCode: 2 })
  }
}
