import { Flags } from '@oclif/core'
import { RrCommand } from '../cli/base.js'
import { parseBind, untilSignal } from '../http/server-util.js'
import { startHttpServer } from '../http/server.js'

export default class HttpServe extends RrCommand {
  static override summary = 'Serve the local history over the HTTP debug transport (pull and push)'
  static override description = 'GET /api/v1/entries?cursor=&limit= answers a page of entries, POST /api/v1/entries takes [Entry] or {entries: [Entry]}, GET /api/v1/ping. No authentication: keep it on 127.0.0.1 (the default). Stops cleanly on SIGINT/SIGTERM.'
  static override examples = ['rr --db-path /tmp/rustory-a.db http-serve --bind 127.0.0.1:8860']
  static override flags = {
    bind: Flags.string({ description: 'address to listen on, host:port', default: '127.0.0.1:8860' })
  }

  async run (): Promise<void> {
    const { flags } = await this.parse(HttpServe)
    const settings = this.settingsFrom(flags)
    const bind = parseBind(flags.bind)
    const log = (line: string): void => { process.stdout.write(`${line}\n`) }
    const server = await startHttpServer({ bind, dbPath: settings.dbPath }, { log })
    log(`http listen: ${server.url}`)
    await untilSignal(server.close)
    log('http stopped')
  }
}
