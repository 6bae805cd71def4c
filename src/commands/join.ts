import { Args, Flags } from '@oclif/core'
import { RrCommand } from '../cli/base.js'
import { joinNetwork } from '../config/pairing.js'

export default class Join extends RrCommand {
  static override summary = 'Join the network of another device with the code `rr invite` printed there'
  static override description = 'Writes swarm.key (mode 0600) and the trackers, tracker_token, relay_addr and user_id the code carries into config.toml. The whole code is checked first: a truncated or garbled one writes nothing. A different swarm key already on this device is kept unless --force (it is then moved to swarm.key.old); both fingerprints are printed to compare.'
  static override examples = ['rr join rr1-eyJ2Ijox…', 'rr join --force rr1-eyJ2Ijox…']

  static override args = {
    code: Args.string({ description: 'the code from `rr invite` (starts with rr1-)', required: true })
  }

  static override flags = {
    force: Flags.boolean({ description: 'replace a different swarm key already on this device (this device leaves its current network)' })
  }

  async run (): Promise<void> {
    const { args, flags } = await this.parse(Join)
    const settings = this.settingsFrom(flags)
    for (const line of joinNetwork(settings, args.code, { force: flags.force })) process.stdout.write(`${line}\n`)
  }
}
