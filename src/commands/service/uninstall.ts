import { RrCommand } from '../../cli/base.js'
import { uninstallService } from '../../service/manage.js'
import { serviceInit } from './install.js'

export default class ServiceUninstall extends RrCommand {
  static override summary = 'Stop rr daemon as a service and remove its unit (systemd) or agent (launchd)'
  static override examples = ['rr service uninstall']
  static override flags = {}

  async run (): Promise<void> {
    const { flags } = await this.parse(ServiceUninstall)
    const settings = this.settingsFrom(flags)
    for (const line of uninstallService(serviceInit(settings, flags))) process.stdout.write(`${line}\n`)
  }
}
