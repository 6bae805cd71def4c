import { Args } from '@oclif/core'
import { RrCommand, UsageError } from '../cli/base.js'
import { environment } from '../config/settings.js'
import { renderHook, shells, type Shell } from '../doctor/shell-hooks.js'

export default class Init extends RrCommand {
  static override summary = 'Print the shell integration (recording hook and ctrl+r) for zsh or bash'
  static override description = 'Add the eval line to your shell\'s startup file. The printed script runs this rr by its absolute path, so it works even when rr is not on PATH; set RUSTORY_BIN to run another rr. RUSTORY_HOOK_DISABLE=1 pauses recording.'
  static override examples = [
    'echo \'eval "$(rr init zsh)"\' >> ~/.zshrc',
    'echo \'eval "$(rr init bash)"\' >> ~/.bashrc'
  ]

  static override args = {
    shell: Args.string({ description: 'zsh or bash', required: true, options: [...shells] })
  }

  async run (): Promise<void> {
    const { args } = await this.parse(Init)
    const shell = args.shell as Shell
    if (!(shells as readonly string[]).includes(shell)) throw new UsageError(`unknown shell "${shell}"; use zsh or bash`)
    const rrBin = environment().RUSTORY_BIN
    process.stdout.write(renderHook(shell, rrBin != null && rrBin !== '' ? { rrBin } : {}))
  }
}
