/**
 * Tracker addresses as users write them, turned into the base URL the tracker client calls. Accepted:
 * `http(s)://host:port[/prefix]`, a bare `host:port` (meaning http), and a multiaddr
 * `/ip4|ip6|dns|dns4|dns6/<host>/tcp/<port>[/http|/https|/tls/http]`. Pure; no I/O.
 */
import { RustoryError } from '../core/errors.js'

/** A tracker address that is none of the accepted forms. The message names the address and the forms. */
export class TrackerAddressError extends RustoryError {
  static override readonly name = 'TrackerAddressError'
  override readonly name = 'TrackerAddressError'
  override readonly exitCode = 2
}

const forms = 'expected http(s)://host:port, host:port, or /ip4|ip6|dns4|dns6/<host>/tcp/<port>'

function fail (address: string, why: string): never {
  throw new TrackerAddressError(`${JSON.stringify(address)} is not a tracker address (${why}; ${forms})`)
}

function checkPort (address: string, port: string): number {
  const n = Number(port)
  if (!/^\d{1,5}$/.test(port) || n < 1 || n > 65535) fail(address, `port ${JSON.stringify(port)} is not 1-65535`)
  return n
}

function fromMultiaddr (address: string): string {
  const parts = address.split('/').slice(1)
  const [proto, host, tcp, port, ...rest] = parts
  if (proto == null || host == null || host === '') fail(address, 'multiaddr without a host')
  if (!['ip4', 'ip6', 'dns', 'dns4', 'dns6'].includes(proto)) fail(address, `multiaddr protocol /${proto} is not ip4, ip6, dns, dns4 or dns6`)
  if (tcp !== 'tcp' || port == null) fail(address, 'multiaddr without /tcp/<port>')
  const n = checkPort(address, port)
  const tail = rest.join('/')
  let scheme: 'http' | 'https'
  if (tail === '' || tail === 'http') scheme = 'http'
  else if (tail === 'https' || tail === 'tls/http') scheme = 'https'
  else fail(address, `unexpected /${tail} after the port`)
  if (proto === 'ip4' && !/^\d{1,3}(\.\d{1,3}){3}$/.test(host)) fail(address, `${host} is not an IPv4 address`)
  if (proto === 'ip6' && !host.includes(':')) fail(address, `${host} is not an IPv6 address`)
  const h = proto === 'ip6' ? `[${host}]` : host
  return checkedUrl(address, `${scheme}://${h}:${n}`)
}

function checkedUrl (address: string, url: string): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    fail(address, 'not a valid URL')
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') fail(address, `scheme ${parsed.protocol} is not http or https`)
  if (parsed.hostname === '') fail(address, 'no host')
  if (parsed.username !== '' || parsed.password !== '') fail(address, 'credentials belong in tracker_token, not in the address')
  if (parsed.search !== '' || parsed.hash !== '') fail(address, 'no query or fragment allowed')
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`
}

/** The tracker base URL (`http://host:port[/prefix]`, no trailing slash) for any accepted form; throws TrackerAddressError. */
export function parseTrackerAddress (input: string): string {
  const address = input.trim()
  if (address === '') fail(input, 'empty')
  if (address.startsWith('/')) return fromMultiaddr(address)
  if (/^[a-z][a-z0-9+.-]*:\/\//i.test(address)) return checkedUrl(address, address)
  // host:port, [v6]:port
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9.-]+):(\d+)$/.exec(address)
  if (m == null) fail(address, 'no scheme and not host:port')
  checkPort(address, m[2]!)
  return checkedUrl(address, `http://${m[1]}:${m[2]}`)
}
