/**
 * Shell integration: renders hooks/rr.{zsh,bash} for `rr init`, and tells `rr doctor` whether a hook is loaded.
 */
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

export const shells = ['zsh', 'bash'] as const
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

export interface RenderOptions {
  /** The program to run as rr (RUSTORY_BIN). @default node (this one) + this installation's bin/rr */
  rrBin?: string
  /** @default process.execPath */
  nodePath?: string
}

/**
 * The hook script with the rr command filled in as absolute paths, so the hook works even when neither rr nor node
 * is on the PATH of the shell.
 */
export function renderHook (shell: Shell, options: RenderOptions = {}): string {
  const command = options.rrBin != null && options.rrBin !== ''
    ? [options.rrBin]
    : [options.nodePath ?? process.execPath, rrBinPath]
  const script = readFileSync(hookPath(shell), 'utf8')
  return script.replaceAll('__RUSTORY_RR__', command.map(shellQuote).join(' '))
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
    join(home, '.bashrc'),
    join(home, '.bash_profile'),
    join(home, '.profile')
  ]
  const rcFiles = [...new Set(candidates)].filter((file) => {
    try {
      return existsSync(file) && /\brr(\.js)?["']?\s+init\b|rustory\/hooks\/rr\.(ba|z)sh/.test(readFileSync(file, 'utf8'))
    } catch {
      return false
    }
  })
  return { ...(activeShell != null && activeShell !== '' ? { active: activeShell } : {}), rcFiles }
}
