import { Flags } from '@oclif/core'
import { RrCommand } from '../cli/base.js'
import { environment, home } from '../config/settings.js'
import { collectReport, renderReport } from '../doctor/report.js'
import { rustoryVersion } from '../version.js'
import { jsonForTerminal, showControls } from '../core/escape.js'

export default class Doctor extends RrCommand {
  static override summary = 'Check the installation: paths, database, skipped commands, shell hook, fzf, keys'
  static override description = 'Shows the files in use, the number of entries and the database size and schema version, how many commands the recorder skipped (leading space, ignore regex, each kind of secret) or truncated, whether a shell hook and fzf are found, and whether the swarm and identity keys exist. Exits 1 when something is broken (e.g. the database cannot be opened) and 2 when the config file is malformed.'
  static override examples = ['rr doctor', 'rr doctor --json']
  static override flags = {
    json: Flags.boolean({ description: 'print the report as one JSON object' })
  }

  async run (): Promise<void> {
    const { flags } = await this.parse(Doctor)
    const settings = this.settingsFrom(flags)
    const env = environment()
    const report = collectReport(settings, {
      home: home(env),
      version: rustoryVersion(),
      ...(env.ZDOTDIR != null ? { zdotdir: env.ZDOTDIR } : {}),
      ...(env.RUSTORY_HOOK_ACTIVE != null ? { hookActive: env.RUSTORY_HOOK_ACTIVE } : {}),
      ...(env.RUSTORY_FZF != null ? { fzf: env.RUSTORY_FZF } : {})
    })
    process.stdout.write(flags.json ? jsonForTerminal(report, 2) + '\n' : showControls(renderReport(report)))
    if (!report.ok) process.exitCode = 1
  }
}
