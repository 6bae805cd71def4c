import { Args, Flags } from '@oclif/core'
import { RrCommand } from '../cli/base.js'
import { expandHome } from '../config/settings.js'
import { defaultHistoryPath } from '../import/paths.js'
import { shells, type Shell } from '../import/parsers.js'
import { importHistory, renderProgress, renderSummary } from '../import/run.js'
import { rustoryVersion } from '../version.js'
import { WorkerPool } from '../../workers/pool.js'

export default class Import extends RrCommand {
  static override summary = 'Import an existing bash, zsh or fish history file'
  static override description = [
    'Reads plain bash history (with HISTTIMEFORMAT #<epoch> lines), zsh history (EXTENDED_HISTORY, multi-line, metafied bytes)',
    'or fish history. Importing the same file again inserts nothing: ids are derived from the device, shell, time, command',
    'and position. Commands that carry secrets or match record_ignore_regex are skipped, as `rr record` would.',
    'Defaults: ~/.bash_history, $HISTFILE or ~/.zsh_history, ~/.local/share/fish/fish_history.',
    'A file that does not look like the named shell\'s history (another shell, binary data, nothing parses) is refused and',
    'nothing is inserted. Commands without a timestamp are dated from their neighbours and marked untimed (--since skips',
    'them). Each import prints a batch id: `rr delete --import <batch-id>` undoes it.'
  ].join('\n')

  static override examples = ['rr import zsh', 'rr import bash --path ~/old/.bash_history']
  static override args = {
    shell: Args.string({ description: 'which shell wrote the file', required: true, options: [...shells] })
  }

  static override flags = {
    path: Flags.string({ description: 'the history file (default: the shell\'s usual file)' }),
    'keep-secrets': Flags.boolean({ description: 'import commands that carry secrets too (the secrets filter is off for this run)' })
  }

  async run (): Promise<void> {
    const { args, flags } = await this.parse(Import)
    const settings = this.settingsFrom(flags)
    const shell = args.shell as Shell
    const path = flags.path != null ? expandHome(flags.path) : defaultHistoryPath(shell)
    const tty = process.stderr.isTTY
    const pool = new WorkerPool({ maxThreads: 1 })
    let lastDraw = 0
    try {
      const summary = await importHistory({
        shell,
        path,
        dbPath: settings.dbPath,
        deviceId: settings.deviceId,
        userId: settings.userId,
        hostname: settings.hostname,
        version: rustoryVersion(),
        secretsFilter: settings.secretsFilter && flags['keep-secrets'] !== true,
        ...(settings.recordIgnoreRegex != null ? { ignoreRegex: new RegExp(settings.recordIgnoreRegex) } : {})
      }, {
        pool,
        ...(tty
          ? {
              onProgress: (p) => {
                const now = Date.now()
                if (now - lastDraw < 100) return
                lastDraw = now
                process.stderr.write(renderProgress(p))
              }
            }
          : {})
      })
      if (tty && lastDraw > 0) process.stderr.write('\r\u001b[2K')
      process.stdout.write(renderSummary(summary))
    } finally {
      await pool.close()
    }
  }
}
