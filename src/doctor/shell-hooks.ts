/**
 * Shell integration: renders hooks/rr.{zsh,bash} for `rr init`, and tells `rr doctor` whether a hook is loaded.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { isSea } from 'node:sea'
import { fileURLToPath } from 'node:url'

export const shells = ['zsh', 'bash', 'fish'] as const
export type Shell = typeof shells[number]

/** The package root (dist/src/doctor → ../../..). */
const packageRoot = fileURLToPath(new URL('../../../', import.meta.url))

/** The `bin/rr` of this installation, absolute. */
export const rrBinPath = join(packageRoot, 'bin', 'rr')

export function hookPath (shell: Shell): string {
  return join(packageRoot, 'hooks', `rr.${shell}`)
}

/** Quotes one word for bash and zsh: 'it'\''s'. */
export function shellQuote (word: string): string {
  return `'${word.replace(/'/g, '\'\\\'\'')}'`
}

/** Quotes one word for fish, whose single quotes take \' and \\ escapes: 'it\'s'. */
export function fishQuote (word: string): string {
  return `'${word.replace(/[\\']/g, (c) => `\\${c}`)}'`
}

/**
 * The rr command words: RUSTORY_BIN as given, else this node and this installation's bin/rr (the executable itself
 * in the single-file binary).
 */
export function rrCommand (options: RenderOptions = {}): string[] {
  if (options.rrBin != null && options.rrBin !== '') return [options.rrBin]
  return isSea() ? [process.execPath] : [options.nodePath ?? process.execPath, rrBinPath]
}

export interface RenderOptions {
  /**
   * The program to run as rr (RUSTORY_BIN). @default node (this one) + this installation's bin/rr; the executable
   * itself in the single-file binary (dist/rr-linux-x64)
   */
  rrBin?: string
  /** @default process.execPath */
  nodePath?: string
}

/**
 * The hook script with the rr command filled in as absolute paths, so the hook works even when neither rr nor node
 * is on the PATH of the shell.
 */
export function renderHook (shell: Shell, options: RenderOptions = {}): string {
  const quote = shell === 'fish' ? fishQuote : shellQuote
  const script = readFileSync(hookPath(shell), 'utf8')
  return script.replaceAll('__RUSTORY_RR__', rrCommand(options).map(quote).join(' '))
}

/**
 * What `rr init <shell> --write` puts in <data dir>/init.<shell>: the rr command, then `source` of this
 * installation's hook file itself. Sourcing it starts no process, and an upgrade (which replaces the hook file in
 * place) takes effect in the next shell with nothing to regenerate.
 */
export function renderStaticInit (shell: Shell, options: RenderOptions = {}): string {
  // The single-file binary has no hook files on disk to source: the file holds the whole hook instead.
  if (isSea()) return renderHook(shell, options)
  const words = rrCommand(options)
  const header = `# rustory (rr) ${shell} integration, written by \`rr init ${shell} --write\`; source it from your startup file.\n`
  if (shell === 'fish') {
    return `${header}set -g _rustory_rr_static ${words.map(fishQuote).join(' ')}\nsource ${fishQuote(hookPath(shell))}\n`
  }
  const array = shell === 'zsh' ? 'typeset -ga _rustory_rr_static' : 'declare -ga _rustory_rr_static 2>/dev/null || true'
  return `${header}${array}\n_rustory_rr_static=(${words.map(shellQuote).join(' ')})\nsource ${shellQuote(hookPath(shell))}\n`
}

export interface HookStatus {
  /** The shell whose hook runs in the environment doctor was started from (RUSTORY_HOOK_ACTIVE). */
  active?: string
  /** Startup files that load the hook (`rr init`). */
  rcFiles: string[]
}

/** Whether a hook is loaded: the variable the hooks export, and `rr init` lines in the usual startup files. */
export function detectHooks (home: string, activeShell: string | undefined, zdotdir?: string): HookStatus {
  const candidates = [
    join(zdotdir != null && zdotdir !== '' ? zdotdir : home, '.zshrc'),
    join(home, '.config', 'fish', 'config.fish'),
    join(home, '.bashrc'),
    join(home, '.bash_profile'),
    join(home, '.profile')
  ]
  const rcFiles = [...new Set(candidates)].filter((file) => {
    try {
      return existsSync(file) && /\brr(\.js)?["']?\s+init\b|rustory\/hooks\/rr\.(ba|z|fi)sh|rustory\/init\.(ba|z|fi)sh/.test(readFileSync(file, 'utf8'))
    } catch {
      return false
    }
  })
  return { ...(activeShell != null && activeShell !== '' ? { active: activeShell } : {}), rcFiles }
}
