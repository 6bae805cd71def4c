import { Flags } from '@oclif/core'
import { RrCommand } from '../cli/base.js'
import { UsageError } from '../core/errors.js'
import { runHttpSync } from '../run/sync.js'
import { syncFlags } from './p2p-sync.js'
import { showControls } from '../core/escape.js'

export default class HttpSync extends RrCommand {
  static override summary = 'Pull (and with --push, push) history over the HTTP debug transport'
  static override description = 'The same sync engine as p2p-sync (cursors, dedup, caps, validation), over `rr http-serve`. For debugging; use p2p-sync between your machines.'
  static override examples = ['rr --db-path /tmp/b.db http-sync --url http://127.0.0.1:8860 --push']

  static override flags = {
    url: Flags.string({ description: 'base URL of an `rr http-serve` (repeatable)', multiple: true }),
    ...syncFlags
  }

  async run (): Promise<void> {
    const { flags } = await this.parse(HttpSync)
    const settings = this.settingsFrom(flags)
    const urls = (flags.url ?? []).flatMap((u) => u.split(',')).map((u) => u.trim()).filter((u) => u !== '')
    if (urls.length === 0) throw new UsageError('give --url http://host:port of an `rr http-serve`')
    const { inspectSink, liveTraceDir } = await import('../inspect/sink.js')
    const inspect = flags.inspect != null ? inspectSink(flags.inspect, { liveDir: liveTraceDir(settings.dbPath) }) : undefined
    try {
      process.exitCode = await runHttpSync({
        settings,
        options: { push: flags.push, watch: flags.watch, intervalSec: flags['interval-sec'], limit: flags.limit },
        peers: urls,
        ...(inspect != null ? { inspect: inspect.observe } : {})
      }, {
        out: (line) => { process.stdout.write(`${showControls(line)}\n`) },
        err: (line) => { process.stderr.write(`${showControls(line)}\n`) },
        tty: process.stderr.isTTY === true
      })
    } finally {
      await inspect?.close()
    }
  }
}
