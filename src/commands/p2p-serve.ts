import { Flags } from '@oclif/core'
import { RrCommand } from '../cli/base.js'
import { showControls } from '../core/escape.js'
import { runP2PServe } from '../run/serve.js'
import { rustoryVersion } from '../version.js'

export default class P2PServe extends RrCommand {
  static override summary = 'Serve this device\'s history to the peers of your private network (libp2p)'
  static override description = 'Listens with TCP + Noise + Yamux inside the private network made by swarm.key, and serves /rustory/sync-pull/1.0.0 and /rustory/entries-push/1.0.0 from the local database. Prints one `p2p listen: <multiaddr>/p2p/<peer_id>` line per address; give one of them to `rr p2p-sync --peers`. The identity key keeps the PeerId across restarts. With --relay it keeps a reservation on the relay (renewed after the relay restarts); with --trackers it registers its listen addresses, external address candidates and relay address with every tracker, again every ttl/3 and after address changes, retrying while a tracker is down (token: tracker_token or RUSTORY_TRACKER_TOKEN). Stops cleanly on SIGINT/SIGTERM.'
  static override examples = [
    'rr --db-path /tmp/rustory-a.db p2p-serve --listen /ip4/0.0.0.0/tcp/8845',
    'rr p2p-serve --listen /ip4/0.0.0.0/tcp/8845 --relay /ip4/203.0.113.7/tcp/4001/p2p/<relay_peer_id>',
    'RUSTORY_TRACKER_TOKEN=secret rr p2p-serve --trackers http://203.0.113.7:8850 --relay /ip4/203.0.113.7/tcp/4001/p2p/<relay_peer_id>'
  ]

  static override flags = {
    listen: Flags.string({ description: 'multiaddr to listen on (repeatable)', multiple: true, default: ['/ip4/0.0.0.0/tcp/8845'] }),
    'identity-key': Flags.string({ description: 'identity key file [env: RUSTORY_P2P_IDENTITY_KEY_PATH, config: p2p_identity_key_path, default: ~/.config/rustory/identity.key]' }),
    trackers: Flags.string({ description: 'tracker URLs to register with (comma-separated or repeated) [env: RUSTORY_TRACKERS, config: trackers]', multiple: true }),
    relay: Flags.string({ description: 'relay multiaddr (…/p2p/<relay_peer_id>): also be reachable through it [env: RUSTORY_RELAY_ADDR, config: relay_addr]' })
  }

  async run (): Promise<void> {
    const { flags } = await this.parse(P2PServe)
    const trackers = (flags.trackers ?? []).flatMap((t) => t.split(',')).map((t) => t.trim()).filter((t) => t !== '')
    const settings = this.settingsFrom(flags, { p2pIdentityKeyPath: flags['identity-key'], relayAddr: flags.relay, trackers })
    await runP2PServe({
      dbPath: settings.dbPath,
      swarmKeyPath: settings.swarmKeyPath,
      identityKeyPath: settings.p2pIdentityKeyPath,
      listen: flags.listen,
      trackers: settings.trackers,
      // The token comes from tracker_token / RUSTORY_TRACKER_TOKEN only, so it never shows in `ps`.
      ...(settings.trackerToken != null ? { trackerToken: settings.trackerToken } : {}),
      meta: { device_id: settings.deviceId, hostname: settings.hostname, user_id: settings.userId, version: rustoryVersion() },
      swarmUserId: !settings.userIdConfigured,
      ...(settings.relayAddr != null ? { relay: settings.relayAddr } : {})
    }, {
      out: (line) => { process.stdout.write(`${line}\n`) },
      log: (line) => { process.stderr.write(`${showControls(line)}\n`) }
    })
  }
}
