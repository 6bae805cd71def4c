/**
 * `rr init` alone, for bin/rr: `eval "$(rr init zsh)"` runs at every shell start, so bin/rr loads this module as one
 * CommonJS file (dist/src/init.cjs, bundled by esbuild at build time, like record-main.ts) — no ES module loader, no
 * oclif. Returns undefined when the command is not a plain `init` (help): bin/rr then goes the usual way.
 */
import { runInitFast } from '../init/run.js'
import { reorderGlobalFlags } from './argv.js'

export function initCommand (argv: string[]): number | undefined {
  const { command, args, configPath } = reorderGlobalFlags(argv)
  if (command !== 'init' || args.includes('--help') || args.includes('-h')) return undefined
  if (configPath != null) process.env.RUSTORY_CONFIG = configPath
  return runInitFast(args.slice(1))
}
