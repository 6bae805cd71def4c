import { Args, Flags } from '@oclif/core'
import { RrCommand } from '../cli/base.js'

export default class Inspect extends RrCommand {
  static override summary = 'Show sync state machines in a local web page (live or from a saved trace)'
  static override description = 'Serves a page on 127.0.0.1 with one card per peer: its sync machine drawn as states and arrows, the current state highlighted, and a timeline of transitions with durations and errors. FILE is a trace written by `rr p2p-sync --inspect=FILE` (followed while it grows); --attach finds the trace of a running `rr p2p-sync --watch --inspect=FILE` on the same database. Works offline: nothing is fetched from elsewhere.'
  static override examples = [
    'rr p2p-sync --watch --inspect=/tmp/sync.jsonl & rr inspect --attach',
    'rr inspect /tmp/sync.jsonl --port 8870'
  ]

  static override args = {
    file: Args.string({ description: 'trace file (JSON Lines from --inspect=FILE)', required: false })
  }

  static override flags = {
    port: Flags.integer({ description: 'port on 127.0.0.1 (0 picks a free one)', default: 8870, min: 0, max: 65535 }),
    attach: Flags.boolean({ description: 'show the trace of the running `rr p2p-sync --watch --inspect=FILE` on this database' })
  }

  async run (): Promise<void> {
    const { args, flags } = await this.parse(Inspect)
    const settings = this.settingsFrom(flags)
    const { runInspect } = await import('../inspect/run.js')
    await runInspect({ ...(args.file != null ? { file: args.file } : {}), attach: flags.attach, port: flags.port, dbPath: settings.dbPath }, {
      out: (line) => { process.stdout.write(`${line}\n`) },
      err: (line) => { process.stderr.write(`${line}\n`) }
    })
  }
}
