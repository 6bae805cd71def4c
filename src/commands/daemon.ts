import { Flags } from '@oclif/core'
import { RrCommand } from '../cli/base.js'
import { runDaemon } from '../run/daemon.js'
import { defaultPullLimit } from '../protocol/constants.js'
import { showControls } from '../core/escape.js'

function splitList (values: string[] | undefined): string[] {
  return (values ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '')
}

export default class Daemon extends RrCommand {
  static override summary = 'Run this device\'s sync: serve, find peers, pull and push, until stopped'
  static override description = 'One long-running process per device with one libp2p node and the persistent identity key: serves this history to the peers of your network, registers with the trackers, keeps the relay reservation, and pulls from and pushes to every peer the trackers (or the peer book) know, every --interval-sec and at once when a command is recorded here. The log has one line per change. One daemon per database: a second one refuses to start. Stops cleanly on SIGINT/SIGTERM (prints `daemon: stopped`). Keep it running with `rr service install`.'
  static override examples = [
    'rr daemon',
    'rr daemon --listen /ip4/0.0.0.0/tcp/8845 --trackers http://203.0.113.7:8850 --relay /ip4/203.0.113.7/tcp/4001/p2p/<relay_peer_id>'
  ]

  static override flags = {
    listen: Flags.string({ description: 'multiaddr to listen on (repeatable)', multiple: true, default: ['/ip4/0.0.0.0/tcp/8845'] }),
    trackers: Flags.string({ description: 'tracker addresses: http(s)://host:port, host:port or a multiaddr (comma-separated or repeated) [env: RUSTORY_TRACKERS, config: trackers]', multiple: true }),
    relay: Flags.string({ description: 'relay multiaddr (…/p2p/<relay_peer_id>): be reachable through it and fall back to it [env: RUSTORY_RELAY_ADDR, config: relay_addr]' }),
    'interval-sec': Flags.integer({ description: 'seconds between sync rounds when nothing is recorded here', default: 60, min: 1 }),
    inspect: Flags.string({ description: 'write every actor event and state transition as JSON Lines to FILE (--inspect=- for stderr)' })
  }

  async run (): Promise<void> {
    const { flags } = await this.parse(Daemon)
    const settings = this.settingsFrom(flags, { relayAddr: flags.relay, trackers: splitList(flags.trackers) })
    const { inspectSink, liveTraceDir } = await import('../inspect/sink.js')
    const inspect = flags.inspect != null ? inspectSink(flags.inspect, { liveDir: liveTraceDir(settings.dbPath) }) : undefined
    try {
      await runDaemon({
        settings,
        listen: flags.listen,
        intervalSec: flags['interval-sec'],
        limit: defaultPullLimit,
        ...(inspect != null ? { inspect: inspect.observe } : {})
      }, {
        out: (line) => { process.stdout.write(`${showControls(line)}\n`) },
        log: (line) => { process.stderr.write(`${showControls(line)}\n`) }
      })
    } finally {
      await inspect?.close()
    }
  }
}
