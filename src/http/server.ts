/**
 * `rr http-serve`: the HTTP debug transport's serving side. The same messages, caps and validation as the
 * libp2p protocols, over plain HTTP: `GET /api/v1/entries?cursor=&limit=` answers a SyncBatch,
 * `POST /api/v1/entries` takes an EntriesPush (or a bare array) and answers a PushAck. JSON parsing,
 * validation and SQLite run in the worker pool, never on this loop.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { defaultPullLimit, maxPullLimit, maxPushRequestBytes } from '../protocol/constants.js'
import { openDatabase } from '../store/db.js'
import { watchSpool } from '../store/spool-watch.js'
import { servePull, servePush } from '../sync/serve.js'
import { WorkerPool } from '../../workers/pool.js'
import { gate } from './local-gate.js'
import { applyTimeouts, BodyTooLargeError, closeServer, httpUrl, listen, readBody, route, sendJson, sendRawJson, sendTooLarge, serverOptions, type BindAddress, type ServerTimeouts } from './server-util.js'

export interface HttpServerInit extends ServerTimeouts {
  /** Where to listen. @default (command) 127.0.0.1:8860 */
  bind: BindAddress
  /** The SQLite database served (created and migrated if missing). */
  dbPath: string
  /**
   * Every request must carry it (Authorization: Bearer, or X-Rustory-Token); see local-gate.ts. `rr http-serve`
   * always sets one; only in-process callers (tests) may leave it out. @default none
   */
  token?: string
}

export interface HttpServerComponents {
  /** The pool running ingest/export; when not given the server owns one and closes it. */
  pool?: WorkerPool
  /** One line per push and per refused request. @default no logging */
  log?: (line: string) => void
}

export interface HttpServer {
  readonly url: string
  readonly address: BindAddress
  close: () => Promise<void>
}

const routes: Record<string, string[]> = {
  '/api/v1/ping': ['GET', 'HEAD'],
  '/api/v1/entries': ['GET', 'POST']
}

/** A query parameter that must be a non-negative decimal integer; undefined when absent, null when invalid. */
function intParam (url: URL, name: string): number | undefined | null {
  const text = url.searchParams.get(name)
  if (text == null || text === '') return undefined
  if (!/^\d{1,16}$/.test(text)) return null
  const n = Number(text)
  return Number.isSafeInteger(n) ? n : null
}

/**
 * A PushAck that fits the push response cap: when thousands of entries were rejected, only the first reasons are
 * listed and `rejected_total` says how many there were.
 */

export async function startHttpServer (init: HttpServerInit, components: HttpServerComponents = {}): Promise<HttpServer> {
  // Create and migrate the database here, so a bad path fails at start and workers find the schema in place.
  openDatabase(init.dbPath).close()
  const ownsPool = components.pool == null
  const pool = components.pool ?? new WorkerPool()
  const log = components.log ?? (() => {})
  // The HTTP debug transport speaks the 1.0.0 messages: unsigned entries, exactly the 1.0.0 fields.
  const core = { dbPath: init.dbPath, pool }

  const pull = async (url: URL, res: ServerResponse): Promise<void> => {
    const cursor = intParam(url, 'cursor')
    const limit = intParam(url, 'limit')
    if (cursor === null) {
      sendJson(res, 400, { error: 'cursor must be a non-negative integer' })
      return
    }
    if (limit === null || limit === 0) {
      sendJson(res, 400, { error: `limit must be a positive integer (at most ${maxPullLimit} are served)` })
      return
    }
    const answer = await servePull(core, { cursor: cursor ?? 0, limit: limit ?? defaultPullLimit }, 1)
    if (answer.kind === 'entry-too-large') {
      sendJson(res, 422, { error: `entry ${answer.entryId} is ${answer.bytes} bytes, more than the ${answer.capBytes}-byte pull response cap` })
      return
    }
    sendRawJson(res, 200, answer.payload)
  }

  const push = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    let body: Uint8Array
    try {
      body = await readBody(req, maxPushRequestBytes)
    } catch (err) {
      if (err instanceof BodyTooLargeError) {
        log(`http push refused: body over ${maxPushRequestBytes} bytes from ${req.socket.remoteAddress ?? '?'}`)
        sendTooLarge(req, res, maxPushRequestBytes)
      } else {
        res.destroy()
      }
      return
    }
    const { ack, result, malformed } = await servePush(core, body, { wire: 1 })
    log(`http push: inserted=${result.inserted} ignored=${result.ignored} rejected=${result.rejected.length}${malformed != null ? ` error=${JSON.stringify(malformed)}` : ''}`)
    // A body that is not an EntriesPush at all is the client's fault (400); a batch with some invalid entries
    // is still a 200: the valid ones landed, the invalid ones are listed.
    sendRawJson(res, malformed != null ? 400 : 200, ack)
  }

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const refused = gate(req.method, req.headers, { ...(init.token != null ? { token: init.token } : {}), bindHost: init.bind.host })
    if (refused != null) {
      log(`http refused ${req.method ?? '?'} ${(req.url ?? '').slice(0, 100)} from ${req.socket.remoteAddress ?? '?'}: ${refused.error}`)
      sendJson(res, refused.status, { error: refused.error }, { close: true })
      return
    }
    const matched = route(req, res, routes)
    if (matched == null) return
    const { path, url } = matched
    if (path === '/api/v1/ping') sendJson(res, 200, { ok: true })
    else if (req.method === 'GET') await pull(url, res)
    else await push(req, res)
  }

  const server: Server = createServer(serverOptions(init), (req, res) => {
    handle(req, res).catch((err: unknown) => {
      log(`http error: ${(err as Error).message}`)
      if (!res.headersSent) sendJson(res, 500, { error: `internal error: ${(err as Error).message.slice(0, 300)}` })
      else res.destroy()
    })
  })
  // A 32 MiB answer to a slow reader takes a while; the request itself must still arrive promptly.
  applyTimeouts(server, { requestTimeoutMs: 120_000, ...init })
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n')
    else socket.destroy()
  })
  let address: BindAddress
  try {
    address = await listen(server, init.bind)
  } catch (err) {
    if (ownsPool) await pool.close()
    throw err
  }
  // Commands recorded on this device while serving reach the database (and so the pulling peers) in moments.
  const spool = watchSpool({ dbPath: init.dbPath }, { log })
  let closing: Promise<void> | undefined
  return {
    url: httpUrl(address.host, address.port),
    address,
    close: async () => {
      closing ??= (async () => {
        spool.close()
        await closeServer(server)
        if (ownsPool) await pool.close()
      })()
      await closing
    }
  }
}
