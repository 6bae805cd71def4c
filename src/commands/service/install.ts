import { Flags } from '@oclif/core'
import { join } from 'node:path'
import { RrCommand } from '../../cli/base.js'
import { environment, home, type Settings } from '../../config/settings.js'
import { installService, serviceDefinition, type ServiceInit } from '../../service/manage.js'

/** What every service command builds from the flags: the paths of this node and rr, and the global options given. */
export function serviceInit (settings: Settings, flags: { 'db-path'?: string | undefined, 'swarm-key'?: string | undefined }): ServiceInit {
  const h = home(environment())
  const globalArgs: string[] = []
  if (settings.configPath !== join(h, '.config', 'rustory', 'config.toml')) globalArgs.push('--config', settings.configPath)
  if (flags['db-path'] != null) globalArgs.push('--db-path', settings.dbPath)
  if (flags['swarm-key'] != null) globalArgs.push('--swarm-key', settings.swarmKeyPath)
  return { home: h, rrScript: process.argv[1] ?? 'rr', node: process.execPath, globalArgs }
}

export default class ServiceInstall extends RrCommand {
  static override summary = 'Keep rr daemon running: a systemd user unit (Linux) or a launchd agent (macOS)'
  static override description = 'Writes ~/.config/systemd/user/rustory.service (Restart=on-failure) or ~/Library/LaunchAgents/dev.rustory.daemon.plist running `rr daemon` with the absolute paths of node and rr, then enables and starts it. Where systemd is not running (containers, CI) the unit is written and the command says how to start it. Global options given here (--db-path, --config, --swarm-key) are passed on to the daemon.'
  static override examples = ['rr service install', 'rr service install --dry-run', 'rr --db-path /data/history.db service install']

  static override flags = {
    'dry-run': Flags.boolean({ description: 'print the unit and where it would go, write nothing' })
  }

  async run (): Promise<void> {
    const { flags } = await this.parse(ServiceInstall)
    const settings = this.settingsFrom(flags)
    const init = serviceInit(settings, flags)
    if (flags['dry-run']) {
      const { path, content } = serviceDefinition(init)
      process.stdout.write(`# ${path}\n${content}`)
      return
    }
    for (const line of installService(init)) process.stdout.write(`${line}\n`)
  }
}
