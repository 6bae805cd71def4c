/**
 * The `rr` entry point. Hot paths (`record` on every prompt, `search` on ctrl+r) skip oclif and load only what
 * they use; everything else goes through oclif. Every error that ends a command prints the same way (report.ts).
 */
import { reorderGlobalFlags } from './argv.js'

/** `rr help [COMMAND]` and `rr version` are the flags `--help` and `--version`. */
export function aliasHelpAndVersion (command: string | undefined, args: string[]): string[] {
  if (command === 'help') return [...args.slice(1), '--help']
  if (command === 'version' && args.length === 1) return ['--version']
  return args
}

export async function main (argv: string[]): Promise<void> {
  try {
    await dispatch(argv)
  } catch (err) {
    const { isExit, reportError } = await import('./report.js')
    if (isExit(err)) {
      process.exitCode = err.oclif.exit
      return
    }
    const { line, exitCode } = reportError(err)
    process.stderr.write(`${line}\n`)
    process.exitCode = exitCode
  }
}

async function dispatch (argv: string[]): Promise<void> {
  const { command, args: reordered, configPath } = reorderGlobalFlags(argv)
  // `--inspect` without a value means the trace goes to stderr (oclif string flags need a value).
  const args = aliasHelpAndVersion(command, reordered.map((a) => (a === '--inspect' ? '--inspect=-' : a)))
  if (configPath != null) process.env.RUSTORY_CONFIG = configPath
  const wantsHelp = args.includes('--help') || args.includes('-h')
  if (command === 'record' && !wantsHelp) {
    // bin/rr runs `record` from its CommonJS bundle (src/cli/record-main.ts); this is the way when there is none.
    const { runRecord } = await import('../record.js')
    process.exitCode = await runRecord(args.slice(1))
    return
  }
  if (command === 'search' && !wantsHelp) {
    const { runSearchFast } = await import('./search-main.js')
    process.exitCode = await runSearchFast(args.slice(1))
    return
  }
  if (command === 'init' && !wantsHelp) {
    const { runInitFast } = await import('../init/run.js')
    process.exitCode = runInitFast(args.slice(1))
    return
  }
  const { polyfill } = await import('../polyfill.js')
  polyfill()
  const { flush, run, settings } = await import('@oclif/core')
  // rustory runs its compiled JS only: without this, NODE_ENV=development or test makes oclif look for TypeScript
  // and warn "Could not find typescript" in every installed copy.
  settings.enableAutoTranspile = false
  await run(args, import.meta.url)
  await flush()
}
