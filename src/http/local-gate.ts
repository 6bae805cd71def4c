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
import { networkInterfaces } from 'node:os'

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

/** An IPv4-mapped IPv6 address (::ffff:7f00:1, as URL writes ::ffff:127.0.0.1) as its IPv4 form. */
function unmapped (ip: string): string {
  const m = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i.exec(ip)
  if (m == null) return ip
  const hi = parseInt(m[1]!, 16)
  const lo = parseInt(m[2]!, 16)
  return `${hi >> 8}.${hi & 0xff}.${lo >> 8}.${lo & 0xff}`
}

/** Whether an IP literal is this machine's: loopback, or an address of one of its network interfaces now. */
function isThisMachine (ip: string): boolean {
  const address = unmapped(ip.toLowerCase())
  if (address === '::1' || /^127\./.test(address)) return true
  return Object.values(networkInterfaces()).some((list) => list?.some((i) => i.address.toLowerCase() === address) === true)
}

/**
 * Host names a request may use: localhost, an IP literal of this machine (a rebinding page sends its DNS name; an
 * IP literal of another machine is no way to reach this one), and the name the server was bound to.
 */
export function hostAllowed (hostHeader: string | undefined, bindHost: string): boolean {
  if (hostHeader == null || hostHeader === '') return false
  const name = hostName(hostHeader)
  if (name == null) return false
  return name === 'localhost' || name === bindHost.replace(/^\[|\]$/g, '') || (isIP(name) !== 0 && isThisMachine(name))
}

/**
 * Whether the browser says the request comes from another site (Fetch Metadata: `Sec-Fetch-Site` is cross-site or
 * same-site). A page's `<script src>` sends no Origin, but Chromium, Firefox and Safari send this; a request that
 * is not a browser's sends neither.
 */
export function fromAnotherSite (headers: IncomingHttpHeaders): boolean {
  const site = headers['sec-fetch-site']
  return site != null && site !== 'same-origin' && site !== 'none'
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
  if (fromAnotherSite(headers)) return { status: 403, error: 'requests from another site are refused' }
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
