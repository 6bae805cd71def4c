/**
 * What `rr record` refuses to store: commands typed with a leading space, the user's ignore pattern, and
 * commands that carry secrets. Pure. Each refusal has a reason name, counted by the store and shown by doctor.
 */

export type SkipReason = 'leading_space' | 'ignore_regex' | `secret_${string}` | 'empty'

/** Built-in secret patterns, named for the counters. Kept specific so ordinary commands are never lost. */
export const secretPatterns: ReadonlyArray<{ name: string, pattern: RegExp }> = [
  { name: 'aws_access_key', pattern: /\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b/ },
  { name: 'aws_secret_key', pattern: /aws_?secret_?access_?key\s*[=:]\s*['"]?[A-Za-z0-9/+=]{40}/i },
  { name: 'github_token', pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b/ },
  { name: 'gitlab_token', pattern: /\bglpat-[A-Za-z0-9_-]{20,}\b/ },
  { name: 'slack_token', pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}\b/ },
  { name: 'slack_webhook', pattern: /hooks\.slack\.com\/services\/T[A-Za-z0-9_]+\/B[A-Za-z0-9_]+\/[A-Za-z0-9_]+/ },
  { name: 'stripe_key', pattern: /\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}\b/ },
  { name: 'npm_token', pattern: /\bnpm_[A-Za-z0-9]{36}\b/ },
  { name: 'bearer_token', pattern: /authorization:\s*bearer\s+[A-Za-z0-9._~+/=-]{8,}/i },
  { name: 'private_key', pattern: /-----BEGIN (?:[A-Z]+ )*PRIVATE KEY( BLOCK)?-----/ }
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
    for (const { name, pattern } of secretPatterns) {
      if (pattern.test(cmd)) return `secret_${name}`
    }
  }
  return undefined
}
