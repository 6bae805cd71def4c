/**
 * `rr inspect`: a small HTTP server on 127.0.0.1 that serves the inspector page (everything inline, nothing fetched
 * from elsewhere), the machine diagrams as JSON, and the trace as Server-Sent Events: every record already in the
 * file, then each one appended while a `p2p-sync --watch --inspect=FILE` keeps writing (a saved trace simply
 * replays). The file is followed by polling its size, so it may not exist yet and may be replaced.
 */
import { closeSync, fstatSync, openSync, readSync, statSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { inspectorGraphs, type MachineGraph } from './graph.js'
import { fromAnotherSite, hostAllowed } from '../http/local-gate.js'
import { fromThisUser } from '../http/peer-user.js'
import { inspectorPage, inspectorPolicy } from './page.js'
import { parseTrace, type TraceRecord } from './trace.js'
import { secondMs } from '../core/units.js'

/**
 * The JSON answers: never sniffed as a script (nosniff: a JSON type is then no script), never handed to another
 * origin's page (Cross-Origin-Resource-Policy), never cached.
 */
const jsonHeaders = { 'content-type': 'application/json', 'x-content-type-options': 'nosniff', 'cross-origin-resource-policy': 'same-origin', 'cache-control': 'no-store' }

export interface InspectorInit {
  /** The trace file to show (followed while it grows). */
  file: string
  /** TCP port on 127.0.0.1; 0 picks a free one. @default 8870 */
  port?: number
  /** How often the file is checked for new lines. @default 250 ms */
  pollMs?: number
}

export interface Inspector {
  url: string
  port: number
  /** Records read so far. */
  records: () => TraceRecord[]
  close: () => Promise<void>
}

/** Follows a JSON Lines file: returns new complete records on every poll. */
export class TraceFollower {
  private offset = 0
  private rest = ''
  private inode = -1

  constructor (readonly file: string) {}

  poll (): TraceRecord[] {
    let size: number
    let inode: number
    try {
      const st = statSync(this.file)
      size = st.size
      inode = st.ino
    } catch {
      return []
    }
    if (inode !== this.inode || size < this.offset) {
      // New or truncated file: start over.
      this.inode = inode
      this.offset = 0
      this.rest = ''
    }
    if (size === this.offset) return []
    const fd = openSync(this.file, 'r')
    try {
      const length = fstatSync(fd).size - this.offset
      if (length <= 0) return []
      const buf = Buffer.alloc(length)
      const read = readSync(fd, buf, 0, length, this.offset)
      this.offset += read
      const text = this.rest + buf.subarray(0, read).toString('utf8')
      const lastNewline = text.lastIndexOf('\n')
      this.rest = lastNewline < 0 ? text : text.slice(lastNewline + 1)
      return lastNewline < 0 ? [] : parseTrace(text.slice(0, lastNewline))
    } finally {
      closeSync(fd)
    }
  }
}

export async function startInspector (init: InspectorInit): Promise<Inspector> {
  const graphs: { peer: MachineGraph, root: MachineGraph } = inspectorGraphs()
  const graphsJson = JSON.stringify(graphs)
  const follower = new TraceFollower(init.file)
  const records: TraceRecord[] = []
  const clients = new Set<ServerResponse>()
  const send = (res: ServerResponse, batch: TraceRecord[]): void => {
    // Chunks keep each SSE message reasonably small for long traces.
    for (let i = 0; i < batch.length; i += 500) res.write(`event: records\ndata: ${JSON.stringify(batch.slice(i, i + 500))}\n\n`)
  }
  const tick = (): void => {
    const fresh = follower.poll()
    if (fresh.length === 0) return
    records.push(...fresh)
    for (const res of clients) send(res, fresh)
  }
  tick()
  const timer = setInterval(tick, init.pollMs ?? 250)
  const keepAlive = setInterval(() => { for (const res of clients) res.write(': keep-alive\n\n') }, 15 * secondMs)
  const page = inspectorPage({ file: init.file })
  const policy = inspectorPolicy()

  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1')
    // A DNS-rebinding page reaches 127.0.0.1 under its own name: only this machine's names are served.
    // No token here: every user of the machine reaches 127.0.0.1, and only the one who started rr inspect is served.
    if (!fromThisUser(req.socket.remoteAddress, req.socket.remotePort, req.socket.localPort)) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('forbidden: this inspector serves only the user who started it\n')
      return
    }
    if (!hostAllowed(req.headers.host, '127.0.0.1')) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('forbidden: the Host header must name this machine (open http://127.0.0.1:<port>/)\n')
      return
    }
    // Another site's page: a fetch or EventSource (Origin) or a <script src> of /trace.json (Sec-Fetch-Site).
    const origin = req.headers.origin
    if ((origin != null && origin !== `http://${req.headers.host ?? ''}`) || fromAnotherSite(req.headers)) {
      res.writeHead(403, { 'content-type': 'text/plain' }).end('forbidden: another site\'s page asked (open http://127.0.0.1:<port>/ itself)\n')
      return
    }
    if (req.method !== 'GET') { res.writeHead(405).end(); return }
    switch (url.pathname) {
      case '/':
        res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', 'content-security-policy': policy, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' }).end(page)
        return
      case '/graphs.json':
        res.writeHead(200, jsonHeaders).end(graphsJson)
        return
      case '/trace.json':
        res.writeHead(200, jsonHeaders).end(JSON.stringify(records))
        return
      case '/events':
        res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-store', connection: 'keep-alive' })
        res.write(`event: hello\ndata: ${JSON.stringify({ file: init.file })}\n\n`)
        send(res, records)
        clients.add(res)
        req.on('close', () => clients.delete(res))
        return
      case '/favicon.ico':
        res.writeHead(204).end()
        return
      default:
        res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n')
    }
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(init.port ?? 8870, '127.0.0.1', () => { server.off('error', reject); resolve() })
  })
  const port = (server.address() as AddressInfo).port
  return {
    url: `http://127.0.0.1:${port}/`,
    port,
    records: () => records,
    close: async () => {
      clearInterval(timer)
      clearInterval(keepAlive)
      for (const res of clients) res.end()
      clients.clear()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    }
  }
}
