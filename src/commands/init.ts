import { Args, Flags } from '@oclif/core'
import { RrCommand } from '../cli/base.js'
import { shells } from '../doctor/shell-hooks.js'
import { runInit } from '../init/run.js'

export default class Init extends RrCommand {
  static override summary = 'Print the shell integration (recording hook and ctrl+r) for zsh, bash or fish'
  static override description = 'Add the eval line to your shell\'s startup file, or run `rr init <shell> --write` once and add the `source` line it prints: that file starts no process when a shell starts, and follows rr upgrades by itself. The printed script runs this rr by its absolute path, so it works even when rr is not on PATH; set RUSTORY_BIN to run another rr. RUSTORY_HOOK_DISABLE=1 pauses recording.'
  static override examples = [
    'echo \'eval "$(rr init zsh)"\' >> ~/.zshrc',
    'echo \'eval "$(rr init bash)"\' >> ~/.bashrc',
    'echo \'rr init fish | source\' >> ~/.config/fish/config.fish',
    'rr init zsh --write >> ~/.zshrc'
  ]

  static override args = {
    shell: Args.string({ description: 'zsh, bash or fish', required: true, options: [...shells] })
  }

  static override flags = {
    write: Flags.boolean({ description: 'write ~/.rustory/init.<shell> (sourced with no start-up cost) and print the line that sources it' })
  }

  async run (): Promise<void> {
    const { args, flags } = await this.parse(Init)
    process.stdout.write(runInit({ shell: args.shell, write: flags.write }))
  }
}
