/**
 * The `rr` entry point. Hot paths (`record` on every prompt, `search` on ctrl+r) skip oclif and load only what
 * they use; everything else goes through oclif.
 */
import { reorderGlobalFlags } from './argv.js'

export async function main (argv: string[]): Promise<void> {
  const { command, args: reordered, configPath } = reorderGlobalFlags(argv)
  // `--inspect` without a value means the trace goes to stderr (oclif string flags need a value).
  const args = reordered.map((a) => (a === '--inspect' ? '--inspect=-' : a))
  if (configPath != null) process.env.RUSTORY_CONFIG = configPath
  const wantsHelp = args.includes('--help') || args.includes('-h')
  if (command === 'record' && !wantsHelp) {
    // bin/rr runs `record` from its CommonJS bundle (src/cli/record-main.ts); this is the way when there is none.
    const { runRecord } = await import('../record.js')
    process.exitCode = await runRecord(args.slice(1))
    return
  }
  if (command === 'search' && !wantsHelp) {
    const { runSearchFast } = await import('../search/fast.js')
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
  const { execute } = await import('@oclif/core')
  await execute({ args, dir: import.meta.url })
}
