/** The tracker's shared-token check: constant-time, two accepted headers. */
import { createHash, timingSafeEqual } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'

function digest (text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest()
}

/**
 * Compares a presented token with the expected one in constant time. Both are hashed first, so the comparison
 * takes the same time whatever the lengths (timingSafeEqual needs equal lengths and would leak them).
 */
export function tokenMatches (presented: string | undefined, expected: string): boolean {
  if (presented == null) {
    // Same work as a real comparison, so a missing header is not faster to reject.
    timingSafeEqual(digest(''), digest(expected))
    return false
  }
  return timingSafeEqual(digest(presented), digest(expected))
}

/** The tokens a request presents: `Authorization: Bearer <token>` and `X-Rustory-Token: <token>`. */
export function presentedTokens (headers: IncomingHttpHeaders): string[] {
  const tokens: string[] = []
  const auth = headers.authorization
  if (typeof auth === 'string') {
    const m = /^Bearer[ \t]+(.+)$/i.exec(auth.trim())
    if (m != null) tokens.push(m[1]!.trim())
  }
  const custom = headers['x-rustory-token']
  if (typeof custom === 'string') tokens.push(custom.trim())
  else if (Array.isArray(custom)) tokens.push(...custom.map((c) => c.trim()))
  return tokens
}

/** True when one of the presented tokens matches (every candidate is compared, in constant time each). */
export function isAuthorized (headers: IncomingHttpHeaders, expected: string): boolean {
  const tokens = presentedTokens(headers)
  if (tokens.length === 0) return tokenMatches(undefined, expected)
  let ok = false
  for (const t of tokens) ok = tokenMatches(t, expected) || ok
  return ok
}
