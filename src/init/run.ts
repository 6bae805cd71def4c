/**
 * `rr init <shell> [--write]`: prints the shell integration, or writes the static file a startup file sources.
 * bin/rr runs it without oclif (main.ts), so `eval "$(rr init zsh)"` costs about one `node -e 0`; the --write file
 * costs nothing at all (see renderStaticInit).
 */
import { mkdirSync, renameSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { environment, home } from '../config/settings.js'
import { renderHook, renderStaticInit, shells, type Shell } from '../doctor/shell-hooks.js'
import { errorReport, exitCodeOf, UsageError } from '../core/errors.js'
import { showControls } from '../core/escape.js'

export interface InitArgs {
  shell: string | undefined
  write: boolean
}

/** Parses `rr init` arguments (without the subcommand word). Throws UsageError. Pure. */
export function parseInitArgs (argv: readonly string[]): InitArgs {
  let shell: string | undefined
  let write = false
  for (const arg of argv) {
    if (arg === '--write') write = true
    else if (!arg.startsWith('-') && shell == null) shell = arg
    else throw new UsageError(`unexpected argument ${JSON.stringify(arg)}; usage: rr init zsh|bash|fish [--write]`)
  }
  return { shell, write }
}

function checkShell (shell: string | undefined): Shell {
  if (shell == null || !(shells as readonly string[]).includes(shell)) {
    throw new UsageError(`${shell == null ? 'rr init needs a shell:' : `unknown shell "${shell}";`} use ${shells.join(', ')}`)
  }
  return shell as Shell
}

/** The rc-file line that sources a written init file. Pure. */
export function sourceLine (shell: Shell, path: string): string {
  return shell === 'fish' ? `source '${path.replace(/[\\']/g, (c) => `\\${c}`)}'` : `source '${path.replace(/'/g, "'\\''")}'`
}

/** Returns what to print. With --write, writes <data dir>/init.<shell> (atomically) and returns the source line. */
export function runInit (args: InitArgs): string {
  const shell = checkShell(args.shell)
  const env = environment()
  const rrBin = env.RUSTORY_BIN
  const options = rrBin != null && rrBin !== '' ? { rrBin } : {}
  if (!args.write) return renderHook(shell, options)
  const dir = env.RUSTORY_DATA_DIR != null && env.RUSTORY_DATA_DIR !== '' ? env.RUSTORY_DATA_DIR : join(home(env), '.rustory')
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const path = join(dir, `init.${shell}`)
  writeFileSync(`${path}.tmp`, renderStaticInit(shell, options))
  renameSync(`${path}.tmp`, path)
  return `${sourceLine(shell, path)}\n`
}

/** The bin/rr entry: never throws; a usage error prints one line, exit 2. */
export function runInitFast (argv: readonly string[]): number {
  try {
    process.stdout.write(runInit(parseInitArgs(argv)))
    return 0
  } catch (err) {
    process.stderr.write(`${showControls(errorReport(err, false))}\n`)
    return exitCodeOf(err)
  }
}
