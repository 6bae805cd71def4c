import { Flags } from '@oclif/core'
import { RrCommand } from '../cli/base.js'
import { drainSpoolFor } from '../store/db.js'
import { openForSearch } from '../store/search.js'
import { daemonState } from '../store/daemon-lock.js'
import { daemonSummary } from '../status/daemon-status.js'
import { defaultStaleHours, exitCodeOf, renderSyncStatus, syncStatusReport, summarize } from '../status/sync-status.js'
import { jsonForTerminal, showControls } from '../core/escape.js'

export default class SyncStatus extends RrCommand {
  static override summary = 'Show when each peer last synced, and exit non-zero when any is stale or failing'
  static override description = 'Per known peer: PeerId, device and host, last successful pull and push (time, entries), our cursor, the last push seq, the last error and when, and the path last used. A peer is stale after --stale-hours without a successful pull, and failing when its last error is newer than its last successful pull; then the exit code is 1 (for cron alerts and prompt segments).'
  static override examples = ['rr sync-status', 'rr sync-status --json', 'rr sync-status --stale-hours 72 || notify-send "rustory sync is behind"']

  static override flags = {
    json: Flags.boolean({ description: 'print the report as JSON' }),
    'stale-hours': Flags.integer({ description: 'hours without a successful pull before a peer counts as stale', default: defaultStaleHours, min: 1 })
  }

  async run (): Promise<void> {
    const { flags } = await this.parse(SyncStatus)
    const settings = this.settingsFrom(flags)
    const now = Math.floor(Date.now() / 1000)
    const staleHours = flags['stale-hours']
    drainSpoolFor(settings.dbPath)
    // No database yet, or no schema yet (a writer is creating it): no peers.
    const db = openForSearch(settings.dbPath)
    const report = db != null
      ? (() => {
          try { return syncStatusReport(db, now, staleHours) } finally { db.close() }
        })()
      : { now_unix: now, stale_hours: staleHours, summary: summarize([]), peers: [] }
    const daemon = daemonState(settings.dbPath)
    process.stdout.write(flags.json
      ? `${jsonForTerminal({ ...report, daemon: { running: daemon.running, ...daemon.status } }, 2)}\n`
      // Peers' device_id and hostname come from trackers, errors from peers: shown as text (src/core/escape.ts).
      : showControls(`daemon: ${daemonSummary(daemon)}\n${renderSyncStatus(report)}`))
    process.exitCode = exitCodeOf(report.summary)
  }
}
