/**
 * Small pieces shared by the two node:http servers (the tracker and the HTTP debug transport): parsing `--bind`,
 * reading a request body under a cap, JSON answers, server timeouts, and a clean close.
 */
import { concatBytes } from '../protocol/framing.js'
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import { isIP } from 'node:net'
import { AddressInUseError, isAddressInUse, RustoryError } from '../core/errors.js'
import { secondMs } from '../core/units.js'

export interface BindAddress {
  host: string
  port: number
}

/** A `--bind` value that is not `host:port`. */
/** A --bind value that is not host:port; a usage error (exit 2) at the command boundary. */
export class BindError extends RustoryError {
  static override readonly name = 'BindError'
  override readonly name = 'BindError'
  override readonly exitCode = 2
}

/**
 * Parses `host:port`, `[v6]:port` or `:port` (= 127.0.0.1). The port may be 0 (the OS picks one). Pure.
 */
export function parseBind (text: string): BindAddress {
  const m = /^(?:\[([0-9a-fA-F:.%\w]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(text.trim())
  if (m == null) throw new BindError(`--bind ${JSON.stringify(text)}: expected host:port (e.g. 127.0.0.1:8850 or [::1]:8850)`)
  const host = m[1] ?? (m[2] === '' || m[2] == null ? '127.0.0.1' : m[2])
  const port = Number(m[3])
  if (port > 65535) throw new BindError(`--bind ${JSON.stringify(text)}: port must be 0..65535`)
  if (m[1] != null && isIP(host) !== 6) throw new BindError(`--bind ${JSON.stringify(text)}: ${host} is not an IPv6 address`)
  return { host, port }
}

/** `http://host:port`, bracketing IPv6 hosts. */
export function httpUrl (host: string, port: number): string {
  return `http://${isIP(host) === 6 ? `[${host}]` : host}:${port}`
}

/** The request body passed its cap (answered with 413). */
export class BodyTooLargeError extends Error {
  static override readonly name = 'BodyTooLargeError'
  override readonly name = 'BodyTooLargeError'
  constructor (readonly capBytes: number) {
    super(`request body too large: more than ${capBytes} bytes`)
  }
}

/**
 * Reads a request body, refusing it as soon as it passes `capBytes` (a Content-Length above the cap is refused
 * before a byte is read). The result owns its ArrayBuffer, so it can be transferred to a worker.
 */
export async function readBody (req: IncomingMessage, capBytes: number): Promise<Uint8Array> {
  const declared = req.headers['content-length']
  if (declared != null && Number(declared) > capBytes) throw new BodyTooLargeError(capBytes)
  const chunks: Buffer[] = []
  let total = 0
  await new Promise<void>((resolve, reject) => {
    const cleanup = (): void => {
      req.off('data', onData)
      req.off('end', onEnd)
      req.off('error', onError)
      req.off('aborted', onAborted)
    }
    const onData = (chunk: Buffer): void => {
      total += chunk.byteLength
      if (total > capBytes) {
        // Stop reading (not destroy: the 413 must still go out on this socket).
        cleanup()
        req.pause()
        reject(new BodyTooLargeError(capBytes))
        return
      }
      chunks.push(chunk)
    }
    const onEnd = (): void => { cleanup(); resolve() }
    const onError = (err: Error): void => { cleanup(); reject(err) }
    const onAborted = (): void => { cleanup(); reject(new Error('request aborted')) }
    req.on('data', onData)
    req.once('end', onEnd)
    req.once('error', onError)
    req.once('aborted', onAborted)
  })
  return concatBytes(chunks, total)
}

/**
 * Resolves the request to one of `routes` (path → allowed methods), answering 404 or 405 itself when it does not
 * match. Returns the path (without trailing slashes) and URL to serve, or undefined when an answer was sent.
 */
export function route (req: IncomingMessage, res: ServerResponse, routes: Readonly<Record<string, readonly string[]>>): { path: string, url: URL } | undefined {
  const url = requestUrl(req)
  const path = url?.pathname.replace(/\/+$/, '') ?? ''
  const methods = routes[path]
  if (url == null || methods == null) {
    sendJson(res, 404, { error: `no such route: ${req.method ?? '?'} ${(req.url ?? '').slice(0, 200)}` })
    return undefined
  }
  if (!methods.includes(req.method ?? '')) {
    sendJson(res, 405, { error: `method ${req.method ?? '?'} not allowed on ${path} (allowed: ${methods.join(', ')})` }, { headers: { allow: methods.join(', ') } })
    return undefined
  }
  return { path, url }
}

/** Answers a JSON document with Content-Length; `close` asks the client to drop the connection afterwards. */
export function sendJson (res: ServerResponse, status: number, body: unknown, options: { close?: boolean, headers?: Record<string, string> } = {}): void {
  sendRawJson(res, status, Buffer.from(JSON.stringify(body)), options)
}

export function sendRawJson (res: ServerResponse, status: number, body: Uint8Array, options: { close?: boolean, headers?: Record<string, string> } = {}): void {
  if (res.headersSent) {
    res.destroy()
    return
  }
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': String(body.byteLength),
    'cache-control': 'no-store',
    ...(options.close === true ? { connection: 'close' } : {}),
    ...options.headers
  })
  res.end(body)
}

/**
 * Refuses an oversized body: answers 413 and closes the connection once the answer is out, so the rest of the
 * upload is never read.
 */
export function sendTooLarge (req: IncomingMessage, res: ServerResponse, capBytes: number): void {
  const socket = req.socket
  sendJson(res, 413, { error: `request body too large: the limit is ${capBytes} bytes` }, { close: true })
  res.once('finish', () => socket?.destroySoon())
}

export interface ServerTimeouts {
  /** Time to receive all request headers. @default 10 s */
  headersTimeoutMs?: number
  /** Time to receive a whole request. @default 60 s */
  requestTimeoutMs?: number
  /** Idle keep-alive connections close after this. @default 5 s */
  keepAliveTimeoutMs?: number
}

/**
 * Options for createServer: small headers, and a check of the header/request timeouts every second (Node's
 * default checks every 30 s, so a stalled client would hold its socket that long whatever the timeouts).
 */
export function serverOptions (timeouts: ServerTimeouts = {}): { maxHeaderSize: number, connectionsCheckingInterval: number } {
  const headers = timeouts.headersTimeoutMs ?? 10 * secondMs
  return { maxHeaderSize: 16 * 1024, connectionsCheckingInterval: Math.max(50, Math.min(secondMs, Math.floor(headers / 2))) }
}

/** Bounds what a slow or silent client can hold: headers, whole request, idle keep-alive. */
export function applyTimeouts (server: Server, timeouts: ServerTimeouts = {}): void {
  server.headersTimeout = timeouts.headersTimeoutMs ?? 10 * secondMs
  server.requestTimeout = timeouts.requestTimeoutMs ?? 60 * secondMs
  server.keepAliveTimeout = timeouts.keepAliveTimeoutMs ?? 5 * secondMs
  server.maxHeadersCount = 100
}

/** Listens and resolves with the bound address (the real port when asked for 0); a port in use names --bind. */
export async function listen (server: Server, bind: BindAddress): Promise<BindAddress> {
  await new Promise<void>((resolve, reject) => {
    const failed = (err: Error): void => {
      reject(isAddressInUse(err) ? new AddressInUseError(`${isIP(bind.host) === 6 ? `[${bind.host}]` : bind.host}:${bind.port}`, '--bind', err) : err)
    }
    server.once('error', failed)
    server.listen(bind.port, bind.host, () => {
      server.off('error', failed)
      resolve()
    })
  })
  const address = server.address()
  if (address == null || typeof address === 'string') return bind
  return { host: bind.host, port: address.port }
}

/** Stops accepting, ends idle keep-alive connections, and cuts the rest after `graceMs`. */
export async function closeServer (server: Server, graceMs = 2 * secondMs): Promise<void> {
  if (!server.listening) return
  const closed = new Promise<void>((resolve) => server.close(() => resolve()))
  server.closeIdleConnections()
  const timer = setTimeout(() => server.closeAllConnections(), graceMs)
  timer.unref()
  await closed
  clearTimeout(timer)
}

/** The path and query of a request, or undefined when the URL cannot be parsed. */
export function requestUrl (req: IncomingMessage): URL | undefined {
  try {
    return new URL(req.url ?? '/', 'http://localhost')
  } catch {
    return undefined
  }
}
