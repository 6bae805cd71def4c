/**
 * `rr search` alone, for bin/rr: ctrl+r runs it, so bin/rr loads this module as one CommonJS file
 * (dist/src/search.cjs, bundled by esbuild at build time, like record-main.ts) — no ES module loader, no module
 * resolution per file, no oclif. What only some searches need stays outside the bundle and loads when needed: the
 * database's write side (a spool to drain, an open to word an error: src/store/search-open.ts) and better-sqlite3.
 * Returns undefined when the command is not a plain `search` (help, another command): bin/rr then goes the usual way.
 */
import { runSearch } from '../search/fast.js'
import { reorderGlobalFlags } from './argv.js'
import { reportError } from './report.js'

export function searchCommand (argv: string[]): Promise<number> | undefined {
  const { command, args, configPath } = reorderGlobalFlags(argv)
  if (command !== 'search' || args.includes('--help') || args.includes('-h')) return undefined
  if (configPath != null) process.env.RUSTORY_CONFIG = configPath
  return runSearchFast(args.slice(1))
}

/** Never throws: an error prints as every rr command prints it (report.ts). */
export async function runSearchFast (argv: string[]): Promise<number> {
  try {
    return await runSearch(argv, { stdout: process.stdout, stderr: process.stderr })
  } catch (err) {
    const { line, exitCode } = reportError(err, { id: 'search' })
    process.stderr.write(`${line}\n`)
    return exitCode
  }
}
