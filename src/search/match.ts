/**
 * The `--filter` matcher: a subset of fzf's extended search, so a script sees what ctrl+r would show.
 * The query splits on spaces into terms that must all match (AND):
 *   `abc`   fuzzy: the characters in order, anything between (fzf's default)
 *   `'abc`  exact substring     `^abc` prefix     `abc$` suffix     `^abc$` whole command
 *   `!abc`  does not contain    `!^abc` does not start with    `!abc$` does not end with
 * Smart case, as fzf: a term with an upper-case letter matches case-sensitively, others ignore case.
 * `\ ` is a literal space inside a term. An empty query matches every command. Pure.
 */

type Kind = 'fuzzy' | 'exact' | 'prefix' | 'suffix' | 'equal'

interface Term {
  kind: Kind
  text: string
  negate: boolean
  caseSensitive: boolean
}

export type Matcher = (cmd: string) => boolean

function splitTerms (query: string): string[] {
  const terms: string[] = []
  let current = ''
  for (let i = 0; i < query.length; i++) {
    const ch = query[i]!
    if (ch === '\\' && query[i + 1] === ' ') { current += ' '; i++; continue }
    if (ch === ' ') {
      if (current !== '') terms.push(current)
      current = ''
      continue
    }
    current += ch
  }
  if (current !== '') terms.push(current)
  return terms
}

export function parseTerm (raw: string): Term | undefined {
  let text = raw
  let negate = false
  if (text.startsWith('!') && text.length > 1) { negate = true; text = text.slice(1) }
  let kind: Kind = negate ? 'exact' : 'fuzzy'
  if (text.startsWith("'") && text.length > 1) { kind = 'exact'; text = text.slice(1) } else {
    const prefix = text.startsWith('^') && text.length > 1
    if (prefix) text = text.slice(1)
    const suffix = text.endsWith('$') && text.length > 1 && !text.endsWith('\\$')
    if (suffix) text = text.slice(0, -1)
    if (prefix && suffix) kind = 'equal'
    else if (prefix) kind = 'prefix'
    else if (suffix) kind = 'suffix'
  }
  if (text === '') return undefined
  const caseSensitive = text !== text.toLowerCase()
  return { kind, text: caseSensitive ? text : text.toLowerCase(), negate, caseSensitive }
}

function fuzzy (haystack: string, needle: string): boolean {
  let at = 0
  for (const ch of needle) {
    at = haystack.indexOf(ch, at)
    if (at === -1) return false
    at += ch.length
  }
  return true
}

function matchTerm (term: Term, cmd: string, lower: () => string): boolean {
  const hay = term.caseSensitive ? cmd : lower()
  switch (term.kind) {
    case 'fuzzy': return fuzzy(hay, term.text)
    case 'exact': return hay.includes(term.text)
    case 'prefix': return hay.startsWith(term.text)
    case 'suffix': return hay.endsWith(term.text)
    case 'equal': return hay === term.text
  }
}

/** Compiles a query into a predicate over commands. */
export function compileQuery (query: string): Matcher {
  const terms = splitTerms(query).map(parseTerm).filter((t): t is Term => t != null)
  if (terms.length === 0) return () => true
  return (cmd) => {
    let lowered: string | undefined
    const lower = (): string => (lowered ??= cmd.toLowerCase())
    for (const term of terms) {
      if (matchTerm(term, cmd, lower) === term.negate) return false
    }
    return true
  }
}
