import { Flags } from '@oclif/core'
import { RrCommand } from '../cli/base.js'
import { runRelayServe } from '../run/serve.js'
import { secondMs } from '../core/units.js'
import { showControls } from '../core/escape.js'

const MiB = 1024 * 1024

export default class RelayServe extends RrCommand {
  static override summary = 'Run a circuit relay for the peers of your private network'
  static override description = 'Peers behind NAT reserve a slot here (`rr p2p-serve --relay <addr>`) and others reach them through it. Uses the same swarm.key as the peers and its own persisted identity (relay.key). By default relayed connections have no data or duration limit, so a 32 MiB sync batch passes, and up to 128 peers may hold a reservation. Its interface addresses (public ones too) go into reservations; behind NAT or a load balancer give the public address with --announce. Prints `relay listen: <multiaddr>/p2p/<relay_peer_id>`. Stops cleanly on SIGINT/SIGTERM.'
  static override examples = ['rr relay-serve --listen /ip4/0.0.0.0/tcp/4001', 'rr relay-serve --listen /ip4/0.0.0.0/tcp/4001 --announce /ip4/203.0.113.7/tcp/4001']

  static override flags = {
    listen: Flags.string({ description: 'multiaddr to listen on (repeatable)', multiple: true, default: ['/ip4/0.0.0.0/tcp/4001'] }),
    'identity-key': Flags.string({ description: 'relay identity key file [env: RUSTORY_RELAY_IDENTITY_KEY_PATH, config: relay_identity_key_path, default: ~/.config/rustory/relay.key]' }),
    announce: Flags.string({ description: 'public multiaddr to hand out in reservations (repeatable), e.g. behind NAT or a load balancer', multiple: true }),
    'max-reservations': Flags.integer({ description: 'peers that may hold a reservation at once', default: 128, min: 1 }),
    'reservation-ttl-sec': Flags.integer({ description: 'seconds a reservation lasts before the peer renews it', default: 3600, min: 10 }),
    'data-limit-mb': Flags.integer({ description: 'MiB one relayed connection may carry (0 = unlimited)', default: 0, min: 0 }),
    'duration-limit-sec': Flags.integer({ description: 'seconds one relayed connection may last (0 = unlimited)', default: 0, min: 0 })
  }

  async run (): Promise<void> {
    const { flags } = await this.parse(RelayServe)
    const settings = this.settingsFrom(flags, { relayIdentityKeyPath: flags['identity-key'] })
    await runRelayServe({
      swarmKeyPath: settings.swarmKeyPath,
      identityKeyPath: settings.relayIdentityKeyPath,
      listen: flags.listen,
      ...(flags.announce != null ? { announce: flags.announce } : {}),
      maxReservations: flags['max-reservations'],
      reservationTtlMs: flags['reservation-ttl-sec'] * secondMs,
      dataLimitBytes: flags['data-limit-mb'] * MiB,
      durationLimitMs: flags['duration-limit-sec'] * secondMs
    }, {
      out: (line) => { process.stdout.write(`${showControls(line)}\n`) },
      log: (line) => { process.stderr.write(`${showControls(line)}\n`) }
    })
  }
}
