import { RrCommand } from '../cli/base.js'
import { writeHistory, parseFormat } from '../search/history.js'
import { oclifFlags } from '../search/oclif-flags.js'
import { historyFlagSpecs, resolveFilters, type RawFilters } from '../search/options.js'

export default class History extends RrCommand {
  static override summary = 'List recorded commands, newest first'
  static override description = 'Every entry (not deduplicated), ordered by ts, device_id, entry_id, newest first. --format text prints the time (local, or UTC with --utc) and the command; jsonl prints one whole entry per line, as stored (UTC).'
  static override examples = ['rr history --limit 20', 'rr history --since yesterday --exit 1', 'rr history --session', 'rr history --format jsonl --device laptop']
  static override flags = oclifFlags(historyFlagSpecs)

  async run (): Promise<void> {
    const { flags } = await this.parse(History)
    const settings = this.settingsFrom(flags)
    const filters = resolveFilters(flags as RawFilters, new Date(), process.cwd(), settings.sessionId)
    const format = parseFormat(flags.format as string | undefined)
    await writeHistory({ dbPath: settings.dbPath, filters, format, limit: (flags.limit as number | undefined) ?? 0, utc: flags.utc === true }, process.stdout)
  }
}
