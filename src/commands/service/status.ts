import { RrCommand } from '../../cli/base.js'
import { serviceStatus } from '../../service/manage.js'
import { daemonSummary } from '../../status/daemon-status.js'
import { daemonState } from '../../store/daemon-lock.js'
import { serviceInit } from './install.js'

export default class ServiceStatus extends RrCommand {
  static override summary = 'Show whether rr daemon is installed as a service and whether it runs'
  static override description = 'Exits 0 when the service is installed and a daemon holds this database, 1 otherwise.'
  static override examples = ['rr service status']
  static override flags = {}

  async run (): Promise<void> {
    const { flags } = await this.parse(ServiceStatus)
    const settings = this.settingsFrom(flags)
    const status = serviceStatus(serviceInit(settings, flags))
    const daemon = daemonState(settings.dbPath)
    const lines = [
      `service: ${status.installed ? `installed (${status.platform}) at ${status.path}` : `not installed (rr service install writes ${status.path})`}`,
      ...(status.manager != null ? [`manager: ${status.manager}`] : []),
      ...(status.stale ? ['warning: the installed unit runs another node or rr than this one; run rr service install again'] : []),
      `daemon: ${daemonSummary(daemon)}`
    ]
    process.stdout.write(`${lines.join('\n')}\n`)
    process.exitCode = status.installed && daemon.running ? 0 : 1
  }
}
