import { Flags } from '@oclif/core'
import { RrCommand } from '../cli/base.js'
import { parseBind } from '../http/server-util.js'
import { stopSignal } from '../lifecycle/stop-signal.js'
import { startTrackerServer } from '../tracker/server.js'
import { showControls } from '../core/escape.js'

export default class TrackerServe extends RrCommand {
  static override summary = 'Run the discovery tracker: peers register their addresses and find each other'
  static override description = 'Registrations expire after --ttl-sec unless renewed. With a token (--token, RUSTORY_TRACKER_TOKEN or tracker_token in config.toml; prefer the last two so it stays out of `ps`) every request must carry `Authorization: Bearer <token>` or `X-Rustory-Token: <token>`. Stops cleanly on SIGINT/SIGTERM.'
  static override examples = ['rr tracker-serve --bind 0.0.0.0:8850 --ttl-sec 60', 'RUSTORY_TRACKER_TOKEN=secret rr tracker-serve --bind 0.0.0.0:8850']
  static override flags = {
    bind: Flags.string({ description: 'address to listen on, host:port', default: '127.0.0.1:8850' }),
    'ttl-sec': Flags.integer({ description: 'seconds a registration lives without renewal', default: 60, min: 1 }),
    token: Flags.string({ description: 'shared token every request must carry [env: RUSTORY_TRACKER_TOKEN, config: tracker_token]' }),
    'max-peers': Flags.integer({ description: 'live registrations kept at most', default: 10_000, min: 1 }),
    'max-peers-per-user': Flags.integer({ description: 'live registrations under one user_id at most', default: 64, min: 1 }),
    'max-peers-per-source': Flags.integer({ description: 'live registrations made from one IP address at most', default: 64, min: 1 }),
    'allow-unsigned': Flags.boolean({ description: 'also accept unsigned registrations (peers on a release before signed registrations), marked unverified; they never replace a signed one', default: false })
  }

  async run (): Promise<void> {
    const stop = stopSignal()
    const { flags } = await this.parse(TrackerServe)
    const settings = this.settingsFrom(flags, { trackerToken: flags.token })
    const bind = parseBind(flags.bind)
    const log = (line: string): void => { process.stdout.write(`${showControls(line)}\n`) }
    const server = await startTrackerServer({
      bind,
      ttlSec: flags['ttl-sec'],
      maxPeers: flags['max-peers'],
      maxPeersPerUser: flags['max-peers-per-user'],
      maxPeersPerSource: flags['max-peers-per-source'],
      allowUnsigned: flags['allow-unsigned'],
      ...(settings.trackerToken != null ? { token: settings.trackerToken } : {})
    }, { log })
    log(`tracker listen: ${server.url}`)
    if (settings.trackerToken == null && !['127.0.0.1', '::1', 'localhost'].includes(bind.host)) {
      process.stderr.write('tracker: no token set (--token, RUSTORY_TRACKER_TOKEN or tracker_token): anyone who can reach this address can register and list peers\n')
    }
    await stop.until(server.close)
    log('tracker stopped')
  }
}
