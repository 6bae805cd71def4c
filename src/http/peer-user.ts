/**
 * Which local user is at the other end of a loopback TCP connection, from the kernel's socket table (Linux:
 * /proc/net/tcp and tcp6, the `uid` of the socket whose local address is the connection's remote one). What keeps a
 * server with no token of its own (`rr inspect`) for the user who started it: every user of the machine can reach
 * 127.0.0.1. Linux only; elsewhere the owner is unknown.
 */
import { readFileSync } from 'node:fs'
import { isIPv4 } from 'node:net'

/** An address and port as /proc/net/tcp writes them: 32-bit words of the address in host (little-endian) order. */
function procAddress (address: string, port: number): string {
  const portHex = port.toString(16).toUpperCase().padStart(4, '0')
  const v4 = address.startsWith('::ffff:') && isIPv4(address.slice(7)) ? address.slice(7) : address
  if (isIPv4(v4)) {
    const word = v4.split('.').map((b) => Number(b).toString(16).toUpperCase().padStart(2, '0')).reverse().join('')
    return address === v4 ? `${word}:${portHex}` : `0000000000000000FFFF0000${word}:${portHex}`
  }
  if (address === '::1') return `00000000000000000000000001000000:${portHex}`
  return ''
}

/**
 * The uid owning the client socket of a connection this process accepted on `localPort` from `remoteAddress`:
 * `remotePort`; undefined where the table is not readable (not Linux) or holds no such socket.
 */
export function peerUid (remoteAddress: string, remotePort: number, localPort: number): number | undefined {
  const local = procAddress(remoteAddress, remotePort)
  if (local === '') return undefined
  const remotePortHex = `:${localPort.toString(16).toUpperCase().padStart(4, '0')}`
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text: string
    try {
      text = readFileSync(table, 'utf8')
    } catch {
      continue
    }
    for (const line of text.split('\n')) {
      const fields = line.trim().split(/\s+/)
      if (fields[1] === local && fields[2]?.endsWith(remotePortHex) === true) return Number(fields[7])
    }
  }
  return undefined
}

/**
 * Whether a connection comes from this process's user (or root). On Linux a connection whose owner cannot be found
 * is refused; where there is no socket table (macOS) every local connection passes.
 */
export function fromThisUser (remoteAddress: string | undefined, remotePort: number | undefined, localPort: number | undefined): boolean {
  const me = process.getuid?.()
  if (me == null || remoteAddress == null || remotePort == null || localPort == null) return true
  const uid = peerUid(remoteAddress, remotePort, localPort)
  if (uid === undefined) return process.platform !== 'linux'
  return uid === me || uid === 0
}
