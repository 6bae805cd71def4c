/**
 * `rr search --filter Q`: the same list ctrl+r would load (distinct, newest first, at most `limit`), narrowed by an
 * fzf-style query (see match.ts), in list order rather than by score. Runs on the calling thread: a script wants
 * the answer, not a first screen.
 */
import { showControls } from '../core/escape.js'
import { iterateFeedCmds, openForSearch, type FeedFilters } from '../store/search.js'
import { Distinct } from './feed.js'
import { compileQuery } from './match.js'

export interface FilterInit {
  dbPath: string
  limit: number
  filters: FeedFilters
  query: string
  /** Written after each command. @default '\n' */
  separator?: string
  /** Show control characters escaped (src/core/escape.ts); the query still matches the command itself. @default true */
  escape?: boolean
}

/** The matching commands, each followed by the separator. */
export function filterFeed (init: FilterInit): string {
  const db = openForSearch(init.dbPath, { drainSpool: true })
  if (db == null) return ''
  try {
    const matches = compileQuery(init.query)
    const separator = init.separator ?? '\n'
    const escape = init.escape ?? true
    const distinct = new Distinct()
    const out: string[] = []
    let listed = 0
    for (const cmd of iterateFeedCmds(db, init.filters)) {
      if (!distinct.offer(cmd)) continue
      if (matches(cmd)) out.push(escape ? showControls(cmd) : cmd, separator)
      if (++listed >= init.limit) break
    }
    return out.join('')
  } finally {
    db.close()
  }
}
