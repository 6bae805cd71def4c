/**
 * What keeps a local HTTP server for the local user only, against web pages the user visits: a page can send a
 * cross-origin `text/plain` POST (no preflight), and a DNS-rebinding page can even read answers under its own
 * host name. So every request must name this machine in Host (an IP literal or localhost; a rebinding page sends
 * its DNS name), must not come from another Origin, must carry the token, and a POST must be JSON (a plain form or
 * `text/plain` body is refused before anything reads it). Pure apart from node:crypto.
 */
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import { isIP } from 'node:net'

export interface GateRefusal {
  status: 400 | 401 | 403 | 415
  error: string
}

/** A fresh token: 24 random bytes, base64url. */
export function generateToken (): string {
  return randomBytes(24).toString('base64url')
}

/** Whether a bind host reaches only this machine. */
export function isLoopbackHost (host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '')
  return h === 'localhost' || h === '::1' || /^127\./.test(h)
}

/** The host name of a Host header value (without port or IPv6 brackets), or undefined when malformed. */
function hostName (value: string): string | undefined {
  try {
    return new URL(`http://${value}`).hostname.replace(/^\[|\]$/g, '')
  } catch {
    return undefined
  }
}

/** Host names a request may use: IP literals, localhost, and the name the server was bound to. */
export function hostAllowed (hostHeader: string | undefined, bindHost: string): boolean {
  if (hostHeader == null || hostHeader === '') return false
  const name = hostName(hostHeader)
  if (name == null) return false
  return isIP(name) !== 0 || name === 'localhost' || name === bindHost.replace(/^\[|\]$/g, '')
}

function digest (text: string): Buffer {
  return createHash('sha256').update(text, 'utf8').digest()
}

function presentedToken (headers: IncomingHttpHeaders): string | undefined {
  const auth = headers.authorization
  if (typeof auth === 'string') {
    const m = /^Bearer[ \t]+(.+)$/i.exec(auth.trim())
    if (m != null) return m[1]!.trim()
  }
  const custom = headers['x-rustory-token']
  return typeof custom === 'string' ? custom.trim() : undefined
}

/** Checks one request; returns why it is refused, or undefined when it may go on. */
export function gate (method: string | undefined, headers: IncomingHttpHeaders, init: { token?: string, bindHost: string }): GateRefusal | undefined {
  if (!hostAllowed(headers.host, init.bindHost)) {
    return { status: 403, error: `Host ${JSON.stringify(headers.host ?? '')} is not this machine: use http://127.0.0.1:<port> (or the address the server is bound to)` }
  }
  const origin = headers.origin
  if (origin != null && origin !== `http://${headers.host ?? ''}`) {
    return { status: 403, error: `requests from another origin (${origin.slice(0, 100)}) are refused` }
  }
  const presented = presentedToken(headers)
  if (init.token != null && (presented == null || !timingSafeEqual(digest(presented), digest(init.token)))) {
    return { status: 401, error: 'unauthorized: send the token rr http-serve printed (or http_token from config.toml) as Authorization: Bearer <token> or X-Rustory-Token' }
  }
  if (method === 'POST') {
    const type = (headers['content-type'] ?? '').split(';')[0]!.trim().toLowerCase()
    if (type !== 'application/json') return { status: 415, error: `Content-Type must be application/json, not ${JSON.stringify(type)}` }
  }
  return undefined
}
