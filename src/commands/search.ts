import { RrCommand } from '../cli/base.js'
import { runSearchFast } from '../cli/search-main.js'
import { oclifFlags } from '../search/oclif-flags.js'
import { searchFlagSpecs } from '../search/options.js'

export default class Search extends RrCommand {
  static override summary = 'Search history with fzf (ctrl+r); Enter prints the chosen command'
  static override description = [
    'Opens fzf on distinct commands, newest first (each at its most recent use), at most --limit (search_limit_default).',
    'Enter prints the command exactly (multi-line commands whole) and exits 0; Esc prints nothing and exits 130.',
    '--filter QUERY needs no fzf: it prints the matching commands newest first, one per line (--print0: NUL-ended).',
    'Query syntax (fzf extended search): terms separated by spaces must all match; abc fuzzy, \'abc exact,',
    '^abc prefix, abc$ suffix, !abc excludes; a term with upper case is case-sensitive.'
  ].join('\n')

  static override examples = [
    'rr search --query "git "',
    'rr search --filter "^docker compose" --since 7d',
    'rr search --filter "" --cwd . --print0'
  ]

  static override flags = oclifFlags(searchFlagSpecs)

  async run (): Promise<void> {
    await this.parse(Search)
    process.exitCode = await runSearchFast(this.argv)
  }
}
