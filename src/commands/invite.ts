import { RrCommand } from '../cli/base.js'
import { createInvite } from '../config/pairing.js'

export default class Invite extends RrCommand {
  static override summary = 'Print the one line that joins another device to this one\'s network: rr join <code>'
  static override description = 'The code carries the swarm key (created here when this is the first device), the trackers with their token, the relay address and user_id when one is configured. Run the printed line on each other device. Treat the code like the swarm key itself: anyone holding it can join your network.'
  static override examples = ['rr invite', 'rr invite --trackers http://203.0.113.7:8850']

  static override flags = {}

  async run (): Promise<void> {
    const { flags } = await this.parse(Invite)
    const settings = this.settingsFrom(flags)
    const result = createInvite(settings)
    for (const note of result.notes) process.stderr.write(`${note}\n`)
    process.stdout.write(`${result.line}\n`)
  }
}
