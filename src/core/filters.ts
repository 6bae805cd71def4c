/**
 * What `rr record` refuses to store: commands typed with a leading space, the user's ignore pattern, and
 * commands that carry secrets. Pure. Each refusal has a reason name, counted by the store and shown by doctor.
 */

export type SkipReason = 'leading_space' | 'ignore_regex' | `secret_${string}` | 'empty'

/**
 * Built-in secret patterns, named for the counters. Kept specific so ordinary commands are never lost.
 * `hints`: lowercase literals of which a match must contain one; a pattern runs only on a command holding a hint,
 * since compiling them all costs `rr record` ~1 ms on every prompt and most commands hold none.
 */
export const secretPatterns: ReadonlyArray<{ name: string, pattern: RegExp, hints: readonly string[] }> = [
  // Tokens with a recognisable shape (atuin's list and more).
  { name: 'aws_access_key', pattern: /\b(?:AKIA|ASIA|ABIA|ACCA)[0-9A-Z]{16}\b/, hints: ['akia', 'asia', 'abia', 'acca'] },
  { name: 'aws_secret_key', pattern: /aws_?secret_?access_?key\s*[=:]\s*['"]?[A-Za-z0-9/+=]{40}/i, hints: ['secret'] },
  { name: 'github_token', pattern: /\b(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{22,})\b/, hints: ['ghp_', 'gho_', 'ghu_', 'ghs_', 'ghr_', 'github_pat_'] },
  { name: 'github_app_token', pattern: /\bv1\.[0-9a-f]{40}\b/, hints: ['v1.'] },
  { name: 'gitlab_token', pattern: /\bglpat-[A-Za-z0-9_-]{20,}\b/, hints: ['glpat-'] },
  { name: 'slack_token', pattern: /\bxox[abposr]-[A-Za-z0-9-]{10,}\b/, hints: ['xox'] },
  { name: 'slack_webhook', pattern: /hooks\.slack\.com\/services\/T[A-Za-z0-9_]+\/B[A-Za-z0-9_]+\/[A-Za-z0-9_]+/, hints: ['hooks.slack.com'] },
  { name: 'stripe_key', pattern: /\b(?:sk|rk)_(?:live|test)_[A-Za-z0-9]{16,}\b/, hints: ['k_live_', 'k_test_'] },
  { name: 'npm_token', pattern: /\bnpm_[A-Za-z0-9]{36}\b/, hints: ['npm_'] },
  { name: 'pypi_token', pattern: /\bpypi-AgE[A-Za-z0-9_-]{50,}/, hints: ['pypi-'] },
  // OpenAI (sk-, sk-proj-, sk-svcacct-) and Anthropic (sk-ant-api03-) keys; a digit and a capital letter are required,
  // so a branch named sk-feature-with-a-long-name is not one.
  { name: 'openai_key', pattern: /\bsk-(?=[A-Za-z0-9_-]*[0-9])(?=[A-Za-z0-9_-]*[A-Z])[A-Za-z0-9_-]{32,}/, hints: ['sk-'] },
  { name: 'netlify_token', pattern: /\bnf[pcoub]_[0-9a-zA-Z]{36}\b/, hints: ['nfp_', 'nfc_', 'nfo_', 'nfu_', 'nfb_'] },
  { name: 'pulumi_token', pattern: /\bpul-[0-9a-f]{40}\b/, hints: ['pul-'] },
  { name: 'google_api_key', pattern: /\bAIza[0-9A-Za-z_-]{35}\b/, hints: ['aiza'] },
  { name: 'huggingface_token', pattern: /\bhf_[A-Za-z0-9]{34,}\b/, hints: ['hf_'] },
  { name: 'jwt', pattern: /\beyJ[A-Za-z0-9_-]{8,}\.eyJ[A-Za-z0-9_-]{8,}\.[A-Za-z0-9_-]{8,}/, hints: ['eyj'] },
  { name: 'bearer_token', pattern: /authorization:\s*bearer\s+[A-Za-z0-9._~+/=-]{8,}/i, hints: ['authorization'] },
  { name: 'private_key', pattern: /-----BEGIN (?:[A-Z]+ )*PRIVATE KEY( BLOCK)?-----/, hints: ['private key'] },
  // Commands that carry a password or credential as an argument.
  // mysql -pSECRET / --password=SECRET (`-p` alone, or `-p dbname`, prompts; -P is the port).
  { name: 'mysql_password', pattern: /\b(?:mysql|mysqldump|mysqladmin|mariadb|mariadb-dump)\b[^\n|;&]*?\s(?:-p[^\s-]\S*|--password=\S+)/, hints: ['mysql', 'mariadb'] },
  // curl -u user:pass / --user user:pass (`-u user` alone prompts).
  { name: 'curl_credentials', pattern: /\bcurl\b[^\n|;&]*?\s(?:-u|--user)[\s=]*['"]?[^\s:'"]+:[^\s'"]+/, hints: ['curl'] },
  // scheme://user:password@host (git clone, psql, redis-cli -u, pip --index-url …).
  { name: 'url_credentials', pattern: /\b[a-z][a-z0-9+.-]*:\/\/[^\s/:@'"]+:[^\s/@'"]+@[^\s/'"]/i, hints: ['://'] },
  { name: 'sshpass_password', pattern: /\bsshpass\b[^\n|;&]*?\s-p\s*\S+/, hints: ['sshpass'] },
  { name: 'docker_login_password', pattern: /\b(?:docker|podman|nerdctl|helm\s+registry)\s+login\b[^\n|;&]*?\s(?:-p|--password)[\s=]+\S+/, hints: ['login'] },
  { name: 'atuin_login', pattern: /\batuin\s+login\b[^\n|;&]*?\s(?:-p|--password|-k|--key)[\s=]+\S+/, hints: ['atuin'] },
  // NAME_TOKEN=value / export NAME_SECRET=value / PGPASSWORD=value cmd (not when the value is a $variable or $(command)).
  {
    name: 'env_credential',
    pattern: /(?:^|[\s;&|(=,])(?:export\s+|set\s+-x\s+)?[A-Za-z0-9_]*(?:TOKEN|SECRET|SECRET_KEY|PASSWORD|PASSWD|PASSPHRASE|API_?KEY|ACCESS_KEY|ACCOUNT_KEY|PRIVATE_KEY)=['"]?[^\s'"$]/i,
    hints: ['token', 'secret', 'passw', 'passphrase', 'key']
  },
  // --password=VALUE, --token=VALUE, --api-key=VALUE on any command (with `=` only: `--password db` prompts in mysql).
  { name: 'password_flag', pattern: /\s--?(?:password|passwd|token|api[-_]?key|client[-_]secret|secret)=['"]?[^\s'"$]/i, hints: ['passw', 'token', 'key', 'secret'] }
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
