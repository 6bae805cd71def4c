/**
 * Errors of search, history and import, matched by `.name` at the command boundary (src/cli/base.ts lists them);
 * each message says what to do.
 */

/** A bad flag value; exit 2. */
export class UsageError extends Error {
  static override readonly name = 'UsageError'
  override readonly name = 'UsageError'
  readonly exitCode = 2
}

/** fzf is not on PATH; interactive search needs it (`--filter` does not). */
export class FzfMissingError extends Error {
  static override readonly name = 'FzfMissingError'
  override readonly name = 'FzfMissingError'
  readonly exitCode = 2
  constructor () {
    super('fzf not found on PATH; ctrl+r search needs it. Install it: apt-get install fzf / brew install fzf / ' +
      'https://github.com/junegunn/fzf#installation (`rr search --filter QUERY` works without it)')
  }
}
