/**
 * What `rr record` refuses to store: commands typed with a leading space, the user's ignore pattern, and
 * commands that carry secrets. Pure. Each refusal has a reason name, counted by the store and shown by doctor.
 */

export type SkipReason = 'leading_space' | 'ignore_regex' | `secret_${string}` | 'empty'

/**
 * Built-in secret patterns, named for the counters. Kept specific so ordinary commands are never lost.
 * `hints`: lowercase literals of which a match must contain one; a pattern runs only on a command holding a hint,
 * since compiling all ten expressions costs `rr record` ~1 ms on every prompt and most commands hold none.
 */
export const secretPatterns: ReadonlyArray<{ name: string, pattern: RegExp, hints: readonly string[] }> = [
  { name: 'aws_access_key', pattern: /\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b/, hints: ['akia', 'asia', 'abia', 'acca'] },
  { name: 'aws_secret_key', pattern: /aws_?secret_?access_?key\s*[=:]\s*['"]?[A-Za-z0-9/+=]{40}/i, hints: ['secret'] },
  { name: 'github_token', pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b/, hints: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_', 'github_pat_'] },
  { name: 'gitlab_token', pattern: /\bglpat-[A-Za-z0-9_-]{20,}\b/, hints: ['glpat-'] },
  { name: 'slack_token', pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}\b/, hints: ['xox'] },
  { name: 'slack_webhook', pattern: /hooks\.slack\.com\/services\/T[A-Za-z0-9_]+\/B[A-Za-z0-9_]+\/[A-Za-z0-9_]+/, hints: ['hooks.slack.com'] },
  { name: 'stripe_key', pattern: /\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}\b/, hints: ['k_live_', 'k_test_'] },
  { name: 'npm_token', pattern: /\bnpm_[A-Za-z0-9]{36}\b/, hints: ['npm_'] },
  { name: 'bearer_token', pattern: /authorization:\s*bearer\s+[A-Za-z0-9._~+/=-]{8,}/i, hints: ['authorization'] },
  { name: 'private_key', pattern: /-----BEGIN (?:[A-Z]+ )*PRIVATE KEY( BLOCK)?-----/, hints: ['private key'] }
]

export interface FilterOptions {
  /** @default true */
  secretsFilter?: boolean
  /** A user pattern; matching commands are skipped. @default undefined */
  ignoreRegex?: RegExp
}

/** Returns why the command must not be recorded, or undefined to record it. */
export function skipReason (cmd: string, options: FilterOptions = {}): SkipReason | undefined {
  if (cmd.trim() === '') return 'empty'
  if (cmd.startsWith(' ')) return 'leading_space'
  if (options.ignoreRegex?.test(cmd) === true) return 'ignore_regex'
  if (options.secretsFilter ?? true) {
    const lower = cmd.toLowerCase()
    for (const { name, pattern, hints } of secretPatterns) {
      if (hints.some((h) => lower.includes(h)) && pattern.test(cmd)) return `secret_${name}`
    }
  }
  return undefined
}
