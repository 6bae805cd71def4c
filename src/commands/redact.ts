import { Flags } from '@oclif/core'
import { RrCommand } from '../cli/base.js'
import { UsageError } from '../core/errors.js'
import { identityPeerIdIfPresent } from '../config/keys.js'
import { runForget } from '../forget/run.js'
import { terminalConfirm } from './delete.js'

export default class Redact extends RrCommand {
  static override summary = 'Delete stored commands that carry secrets, here and on every device'
  static override description = [
    '--secrets re-scans all stored history with the current secrets filter (the one `rr record` and `rr import` use) and',
    'deletes what matches, through tombstones, so every device forgets it at its next sync. Run it after rustory\'s',
    'secrets filter improves. Lists what matches and asks first (--yes skips the question, --dry-run only lists).'
  ].join('\n')

  static override examples = ['rr redact --secrets --dry-run', 'rr redact --secrets --yes']
  static override flags = {
    secrets: Flags.boolean({ description: 'delete every stored command the secrets filter matches' }),
    yes: Flags.boolean({ description: 'do not ask for confirmation' }),
    'dry-run': Flags.boolean({ description: 'only list what would be deleted' })
  }

  async run (): Promise<void> {
    const { flags } = await this.parse(Redact)
    if (flags.secrets !== true) throw new UsageError('redact: say what to redact: --secrets')
    const settings = this.settingsFrom(flags)
    const peerId = await identityPeerIdIfPresent(settings.p2pIdentityKeyPath).catch(() => undefined)
    const confirm = terminalConfirm()
    await runForget({
      dbPath: settings.dbPath,
      deviceId: settings.deviceId,
      ...(peerId != null ? { peerId } : {}),
      selection: { kind: 'secrets' },
      dryRun: flags['dry-run'],
      yes: flags.yes
    }, {
      out: (text) => process.stdout.write(text),
      err: (text) => process.stderr.write(text),
      ...(confirm != null ? { confirm } : {})
    })
  }
}
