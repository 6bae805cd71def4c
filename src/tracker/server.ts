/**
 * `rr tracker-serve`: the discovery service. Peers register their addresses (expiring after a TTL) and ask for
 * each other's. With a token, every request — ping included — must present it, or gets 401 and nothing else.
 */
import { decodeJson } from '../protocol/messages.js'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { isAuthorized } from './auth.js'
import { PeerRegistry } from './registry.js'
import { defaultMaxClockSkewMs, registrationSignatureProblem } from './signature.js'
import { InvalidRequestError, maxMetaFieldLength, maxRegisterBodyBytes, observedAddr, parseRegisterRequest, type PeerRecord, type RegisterResponse } from './types.js'
import { applyTimeouts, BodyTooLargeError, closeServer, httpUrl, listen, readBody, route, sendJson, sendTooLarge, serverOptions, type BindAddress, type ServerTimeouts } from '../http/server-util.js'
import { secondMs } from '../core/units.js'
import { jsonForTerminal } from '../core/escape.js'

export interface TrackerServerInit extends ServerTimeouts {
  /** Where to listen. Tests use 127.0.0.1 and port 0. */
  bind: BindAddress
  /** How long a registration lives without renewal. @default 60 */
  ttlSec?: number
  /** When set, every request must carry it (Authorization: Bearer, or X-Rustory-Token). @default undefined */
  token?: string
  /** Registrations kept at most. @default 10000 */
  maxPeers?: number
  /** Memory the registrations may hold (approximate). @default 32 MiB */
  maxBytes?: number
  /** Live registrations per user_id. @default 64 */
  maxPeersPerUser?: number
  /** Live registrations per source IP. @default 64 */
  maxPeersPerSource?: number
  /**
   * Accept registrations without a signature (peers on a release before signed registrations), marked
   * unverified: they can never replace a signed registration. @default false (refused with a clear error)
   */
  allowUnsigned?: boolean
  /** How far a registration's signature time may be from this clock. @default 5 min */
  maxClockSkewMs?: number
  /** Connections served at once; more wait in the kernel's backlog. @default 512 */
  maxConnections?: number
}

export interface TrackerServerComponents {
  /** One line per registration and per refused request. @default no logging */
  log?: (line: string) => void
  /** @default Date.now */
  now?: () => number
}

export interface TrackerServer {
  /** `http://host:port` with the real port. */
  readonly url: string
  readonly address: BindAddress
  readonly registry: PeerRegistry
  close: () => Promise<void>
}

const routes: Record<string, string[]> = {
  '/api/v1/ping': ['GET', 'HEAD'],
  '/api/v1/peers': ['GET', 'HEAD'],
  '/api/v1/peers/register': ['POST']
}

export async function startTrackerServer (init: TrackerServerInit, components: TrackerServerComponents = {}): Promise<TrackerServer> {
  const ttlSec = init.ttlSec ?? 60
  if (!Number.isSafeInteger(ttlSec) || ttlSec < 1) throw new RangeError(`ttl must be a positive integer of seconds, got ${ttlSec}`)
  const registry = new PeerRegistry({
    ttlMs: ttlSec * secondMs,
    maxPeers: init.maxPeers ?? 10_000,
    ...(init.maxBytes != null ? { maxBytes: init.maxBytes } : {}),
    ...(init.maxPeersPerUser != null ? { maxPeersPerUser: init.maxPeersPerUser } : {}),
    ...(init.maxPeersPerSource != null ? { maxPeersPerSource: init.maxPeersPerSource } : {}),
    ...(components.now != null ? { now: components.now } : {})
  })
  const now = components.now ?? Date.now
  const log = components.log ?? (() => {})
  const token = init.token != null && init.token !== '' ? init.token : undefined

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    if (token != null && !isAuthorized(req.headers, token)) {
      sendJson(res, 401, { error: 'unauthorized' }, { close: true, headers: { 'www-authenticate': 'Bearer realm="rustory-tracker"' } })
      return
    }
    const matched = route(req, res, routes)
    if (matched == null) return
    const { path, url } = matched
    if (path === '/api/v1/ping') {
      sendJson(res, 200, { ok: true })
      return
    }
    if (path === '/api/v1/peers') {
      const userId = url.searchParams.get('user_id')
      if (userId == null || userId === '') {
        sendJson(res, 400, { error: 'user_id is required: ask for one user\'s peers with ?user_id=<user_id>' })
        return
      }
      if (userId.length > maxMetaFieldLength) {
        sendJson(res, 400, { error: `user_id is longer than ${maxMetaFieldLength} characters` })
        return
      }
      await streamPeers(req, res, registry.records(userId))
      return
    }
    // POST /api/v1/peers/register
    let bytes: Uint8Array
    try {
      bytes = await readBody(req, maxRegisterBodyBytes)
    } catch (err) {
      if (err instanceof BodyTooLargeError) sendTooLarge(req, res, maxRegisterBodyBytes)
      else res.destroy()
      return
    }
    let parsed: unknown
    try {
      // Strict UTF-8, as on the sync protocols: invalid bytes are refused, never silently replaced.
      parsed = decodeJson(bytes, 'register request')
    } catch (err) {
      sendJson(res, 400, { error: (err as Error).message.slice(0, 300) })
      return
    }
    let request
    try {
      request = parseRegisterRequest(parsed)
    } catch (err) {
      if (!(err instanceof InvalidRequestError)) throw err
      sendJson(res, 400, { error: err.message })
      return
    }
    const signed = request.sig != null
    if (signed) {
      const problem = await registrationSignatureProblem(request, { nowMs: now(), maxClockSkewMs: init.maxClockSkewMs ?? defaultMaxClockSkewMs })
      if (problem != null) {
        log(`tracker register refused: peer=${request.peer_id} reason=${problem}`)
        sendJson(res, 403, { error: problem })
        return
      }
    } else if (init.allowUnsigned !== true) {
      log(`tracker register refused: peer=${request.peer_id} reason=unsigned`)
      sendJson(res, 400, { error: 'unsigned registration refused: this tracker accepts only registrations signed with the peer\'s identity key; upgrade rustory on this peer (or start the tracker with --allow-unsigned)' })
      return
    }
    const source = sourceIp(req.socket.remoteAddress)
    const outcome = registry.register(request, { verified: signed, source })
    if (outcome.kind === 'refused') {
      log(`tracker register refused: peer=${request.peer_id} source=${source} reason=${outcome.reason}`)
      sendJson(res, outcome.status, { error: outcome.reason }, outcome.status === 429 ? { headers: { 'retry-after': String(Math.min(ttlSec, 60)) } } : {})
      return
    }
    if (outcome.kind === 'full') {
      log(`tracker register refused: peer=${request.peer_id} reason=full (${registry.size} registrations, ${registry.bytes} bytes)`)
      sendJson(res, 503, { error: `tracker is full (${registry.size} live registrations, at most ${outcome.maxPeers}); retry later` }, { headers: { 'retry-after': String(Math.min(ttlSec, 60)) } })
      return
    }
    const observed = observedAddr(req.socket.remoteAddress, req.socket.remotePort) ?? ''
    log(`tracker register: peer=${request.peer_id} addrs=${request.addrs.length} user=${jsonForTerminal(request.meta.user_id)} device=${jsonForTerminal(request.meta.device_id)} observed=${observed} ${outcome.kind}${signed ? '' : ' unverified'}`)
    const answer: RegisterResponse = { ok: true, ttl_sec: ttlSec, observed_addr: observed }
    sendJson(res, 200, answer)
  }

  const server: Server = createServer(serverOptions(init), (req, res) => {
    handle(req, res).catch((err: unknown) => {
      log(`tracker error: ${(err as Error).message}`)
      if (!res.headersSent) sendJson(res, 500, { error: 'internal error' })
      else res.destroy()
    })
  })
  applyTimeouts(server, init)
  server.maxConnections = init.maxConnections ?? 512
  server.on('clientError', (_err, socket) => {
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nconnection: close\r\ncontent-length: 0\r\n\r\n')
    else socket.destroy()
  })
  const address = await listen(server, init.bind)
  // Expired registrations are also dropped lazily; this keeps memory flat when peers just vanish.
  const sweeper = setInterval(() => registry.sweep(), Math.max(secondMs, Math.min(ttlSec * secondMs, 30 * secondMs)))
  sweeper.unref()
  let closing: Promise<void> | undefined
  return {
    url: httpUrl(address.host, address.port),
    address,
    registry,
    close: async () => {
      closing ??= (async () => {
        clearInterval(sweeper)
        await closeServer(server)
      })()
      await closing
    }
  }
}

/** The caller's IP, an IPv4-mapped IPv6 address as plain IPv4. */
function sourceIp (address: string | undefined): string {
  if (address == null) return ''
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address)
  return mapped != null ? mapped[1]! : address
}

/**
 * Writes `{"peers":[…]}` one record at a time, waiting for the socket to drain between records: a reader that
 * does not read holds the socket's buffers and one record, never a whole listing (24 slow readers of a full
 * listing once took the tracker to 919 MiB).
 */
async function streamPeers (req: IncomingMessage, res: ServerResponse, records: Iterable<PeerRecord>): Promise<void> {
  res.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store' })
  if (req.method === 'HEAD') {
    res.end()
    return
  }
  const write = async (text: string): Promise<boolean> => {
    if (res.destroyed) return false
    if (res.write(text)) return true
    await new Promise<void>((resolve) => {
      const done = (): void => {
        res.off('drain', done)
        res.off('close', done)
        resolve()
      }
      res.on('drain', done)
      res.on('close', done)
    })
    return !res.destroyed
  }
  let first = true
  if (!await write('{"peers":[')) return
  for (const record of records) {
    if (!await write((first ? '' : ',') + JSON.stringify(record))) return
    first = false
  }
  res.end(']}')
}
