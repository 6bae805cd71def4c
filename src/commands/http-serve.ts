import { Flags } from '@oclif/core'
import { RrCommand } from '../cli/base.js'
import { parseBind } from '../http/server-util.js'
import { stopSignal } from '../lifecycle/stop-signal.js'
import { generateToken, isLoopbackHost } from '../http/local-gate.js'
import { startHttpServer } from '../http/server.js'
import { drainSpoolFor } from '../store/db.js'
import { showControls } from '../core/escape.js'
import { UsageError } from '../core/errors.js'

/** Shorter configured tokens get a warning (a generated one is 32 characters). */
const minTokenLength = 16

export default class HttpServe extends RrCommand {
  static override summary = 'Serve the local history over the HTTP debug transport (pull and push)'
  static override description = 'GET /api/v1/entries?cursor=&limit= answers a page of entries, POST /api/v1/entries takes [Entry] or {entries: [Entry]}, GET /api/v1/ping. Every request needs the token (printed at start, or http_token in config.toml / RUSTORY_HTTP_TOKEN) as Authorization: Bearer <token> or X-Rustory-Token; a Host that is not this machine, another Origin, and a POST that is not application/json are refused. Keep it on 127.0.0.1 (the default). Stops cleanly on SIGINT/SIGTERM.'
  static override examples = ['rr --db-path /tmp/rustory-a.db http-serve --bind 127.0.0.1:8860']
  static override flags = {
    bind: Flags.string({ description: 'address to listen on, host:port', default: '127.0.0.1:8860' })
  }

  async run (): Promise<void> {
    const stop = stopSignal()
    const { flags } = await this.parse(HttpServe)
    const settings = this.settingsFrom(flags)
    const bind = parseBind(flags.bind)
    const log = (line: string): void => { process.stdout.write(`${showControls(line)}\n`) }
    const token = settings.httpToken ?? generateToken()
    // A client sends the token trimmed: one with spaces around it would let nobody in.
    if (token.trim() !== token) throw new UsageError('http_token (config.toml or RUSTORY_HTTP_TOKEN) has spaces or line breaks around it, so no client could send it: remove them')
    if (token.length < minTokenLength) {
      process.stderr.write(`rr: WARNING: http_token is ${token.length} characters long: anyone who can reach the port may guess it. Use ${minTokenLength} or more (leave it unset and http-serve prints a fresh one).\n`)
    }
    if (!isLoopbackHost(bind.host)) {
      process.stderr.write(`rr: WARNING: http-serve is bound to ${bind.host}, reachable from other machines. It has no encryption: the token and your history cross the network in clear. Use 127.0.0.1 unless you know why not.\n`)
    }
    // The commands recorded up to now are served from the first pull.
    drainSpoolFor(settings.dbPath, { busyTimeoutMs: 10_000 })
    const server = await startHttpServer({ bind, dbPath: settings.dbPath, token }, { log })
    log(`http listen: ${server.url}`)
    if (settings.httpToken == null) log(`http token: ${token} (send it as Authorization: Bearer <token>; set http_token in config.toml to keep one)`)
    await stop.until(server.close)
    log('http stopped')
  }
}
