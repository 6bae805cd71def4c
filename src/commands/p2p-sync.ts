import { Flags } from '@oclif/core'
import { RrCommand } from '../cli/base.js'
import { UsageError } from '../core/errors.js'
import { runP2PSync } from '../run/sync.js'
import { defaultPullLimit, maxPullLimit } from '../protocol/constants.js'
import { showControls } from '../core/escape.js'

export const syncFlags = {
  limit: Flags.integer({ description: 'entries per batch (halved automatically when a batch is too large)', default: defaultPullLimit, min: 1, max: maxPullLimit }),
  push: Flags.boolean({ description: 'after pulling, push this device\'s own entries (device_id = local) to each peer' }),
  watch: Flags.boolean({ description: 'keep syncing every --interval-sec (with jitter) until SIGINT' }),
  'interval-sec': Flags.integer({ description: 'seconds between --watch rounds', default: 60, min: 1 }),
  stats: Flags.boolean({ description: 'print the event-loop delay and peak memory of this run at the end (stderr)' }),
  inspect: Flags.string({ description: 'write every actor event and state transition as JSON Lines to FILE (or stderr when given without a value: --inspect=-)' })
}

function splitList (values: string[] | undefined): string[] {
  return (values ?? []).flatMap((v) => v.split(',')).map((v) => v.trim()).filter((v) => v !== '')
}

export default class P2PSync extends RrCommand {
  static override summary = 'Pull (and with --push, push) history from peers over libp2p'
  static override description = 'Pulls every peer until its batch is empty; the cursor is stored per remote PeerId in the same transaction as the entries it covers, so an interrupted sync resumes without loss or duplicates. Dials direct first, then through --relay. Prints one summary line per peer; exits non-zero when any peer failed.'
  static override examples = [
    'rr --db-path /tmp/rustory-b.db p2p-sync --peers /ip4/127.0.0.1/tcp/8845/p2p/<peer_id>',
    'rr p2p-sync --peers /ip4/10.0.0.5/tcp/8845/p2p/<peer_id> --push --watch --interval-sec 60'
  ]

  static override flags = {
    peers: Flags.string({ description: 'peer multiaddrs with /p2p/<peer_id> (comma-separated or repeated); without it, ask the trackers', multiple: true }),
    trackers: Flags.string({ description: 'tracker URLs (comma-separated or repeated) [env: RUSTORY_TRACKERS, config: trackers]', multiple: true }),
    relay: Flags.string({ description: 'relay multiaddr (…/p2p/<relay_peer_id>) to fall back to when a direct dial fails [env: RUSTORY_RELAY_ADDR, config: relay_addr]' }),
    listen: Flags.string({ description: 'multiaddr to listen on while syncing (hole punching dials from this port; comma-separated or repeated)', multiple: true, default: ['/ip4/0.0.0.0/tcp/0'] }),
    ...syncFlags
  }

  async run (): Promise<void> {
    const { flags } = await this.parse(P2PSync)
    const settings = this.settingsFrom(flags, { relayAddr: flags.relay, trackers: splitList(flags.trackers) })
    const peers = splitList(flags.peers)
    if (peers.length === 0 && settings.trackers.length === 0) {
      throw new UsageError('nothing to sync with: give --peers <multiaddr>, or --trackers <url> (or trackers in the config)')
    }
    const { inspectSink, liveTraceDir } = await import('../inspect/sink.js')
    const inspect = flags.inspect != null ? inspectSink(flags.inspect, { liveDir: liveTraceDir(settings.dbPath) }) : undefined
    const { startRunStats } = await import('../cli/run-stats.js')
    const stats = flags.stats ? startRunStats() : undefined
    try {
      process.exitCode = await runP2PSync({
        settings,
        options: { push: flags.push, watch: flags.watch, intervalSec: flags['interval-sec'], limit: flags.limit },
        peers,
        listen: splitList(flags.listen),
        ...(settings.relayAddr != null ? { relayAddr: settings.relayAddr } : {}),
        ...(inspect != null ? { inspect: inspect.observe } : {})
      }, {
        out: (line) => { process.stdout.write(`${showControls(line)}\n`) },
        err: (line) => { process.stderr.write(`${showControls(line)}\n`) },
        tty: process.stderr.isTTY === true,
        ...(stats != null ? { started: stats.reset } : {})
      })
    } finally {
      await inspect?.close()
      if (stats != null) process.stderr.write(`${stats.stop()}\n`)
    }
  }
}
