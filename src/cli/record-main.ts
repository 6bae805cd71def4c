/**
 * `rr record` alone, for bin/rr: every shell prompt runs it, so bin/rr loads this module as one CommonJS file
 * (dist/src/record.cjs, bundled by esbuild at build time) when the arguments name `record` — no ES module loader,
 * no module resolution per file. Returns undefined when the command is not a plain `record` (help, another command):
 * bin/rr then goes the usual way.
 */
import { runRecord } from '../record.js'
import { reorderGlobalFlags } from './argv.js'

export function recordCommand (argv: string[]): Promise<number> | undefined {
  const { command, args, configPath } = reorderGlobalFlags(argv)
  if (command !== 'record' || args.includes('--help') || args.includes('-h')) return undefined
  if (configPath != null) process.env.RUSTORY_CONFIG = configPath
  return runRecord(args.slice(1))
}
