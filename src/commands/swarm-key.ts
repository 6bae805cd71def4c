import { RrCommand } from '../cli/base.js'
import { loadOrCreateSwarmKey } from '../config/keys.js'

export default class SwarmKey extends RrCommand {
  static override summary = 'Show the swarm key\'s path and fingerprint (creates the key if missing)'
  static override description = 'Every machine of your network needs the same swarm.key file; compare fingerprints to check. The fingerprint is derived from the key and reveals nothing usable about it. The key itself is never printed: copy the file (mode 0600) to the other machines.'
  static override examples = ['rr swarm-key', 'rr --swarm-key /etc/rustory/swarm.key swarm-key']

  async run (): Promise<void> {
    const { flags } = await this.parse(SwarmKey)
    const settings = this.settingsFrom(flags)
    const key = loadOrCreateSwarmKey(settings.swarmKeyPath)
    if (key.created) process.stdout.write('created a new swarm key (copy this file to every machine of your network)\n')
    process.stdout.write(`swarm key: ${key.path}\nfingerprint: ${key.fingerprint}\n`)
    if (key.looseMode) process.stderr.write(`warning: ${key.path} is readable by other users; run: chmod 600 ${key.path}\n`)
  }
}
