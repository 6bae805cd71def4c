import { Flags } from '@oclif/core'
import { RrCommand } from '../cli/base.js'
import { jsonForTerminal } from '../core/escape.js'
import { readStats, renderStats } from '../search/stats.js'

export default class Stats extends RrCommand {
  static override summary = 'Totals, per-device counts and newest entry, top commands, busiest directories, failure rate'
  static override examples = ['rr stats', 'rr stats --json']
  static override flags = {
    json: Flags.boolean({ description: 'print the figures as one JSON object' }),
    top: Flags.integer({ description: 'how many top commands and directories', default: 10 }),
    utc: Flags.boolean({ description: 'print times in UTC instead of local time' })
  }

  async run (): Promise<void> {
    const { flags } = await this.parse(Stats)
    const settings = this.settingsFrom(flags)
    const stats = readStats(settings.dbPath, flags.top)
    process.stdout.write(flags.json ? jsonForTerminal(stats, 2) + '\n' : renderStats(stats, flags.utc))
  }
}
