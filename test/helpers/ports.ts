/**
 * Ports for tests that must know a port before anything listens on it (a device restarted at the same address, a
 * dial that must be refused). Ports are drawn at random from below the kernel's ephemeral range, then checked free
 * by binding them once. Every `listen(0)` and every outgoing connection in the other test files takes its port from
 * the ephemeral range, so a port handed out here cannot be taken by them between the check and its use; a port
 * freed by `listen(0)` and closed could (CI once saw such a "refused" port answer HTTP 404 from another test's server).
 */
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'

const lowest = 10000

function ephemeralLow (): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
    if (Number.isInteger(low) && low > lowest + 1000) return low
  } catch {}
  return 32768
}

async function bindsFree (port: number): Promise<boolean> {
  return await new Promise((resolve) => {
    const s = createServer()
    s.once('error', () => resolve(false))
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)))
  })
}

const handedOut = new Set<number>()

/** `n` distinct ports on 127.0.0.1 that are free now and outside the ephemeral range. */
export async function unusedPorts (n: number): Promise<number[]> {
  const high = ephemeralLow()
  const ports: number[] = []
  for (let tries = 0; ports.length < n; tries++) {
    if (tries > 1000) throw new Error(`no free port found in ${lowest}-${high - 1}`)
    const port = lowest + Math.floor(Math.random() * (high - lowest))
    if (handedOut.has(port) || !(await bindsFree(port))) continue
    handedOut.add(port)
    ports.push(port)
  }
  return ports
}

/** A port on 127.0.0.1 where nothing listens: a connection to it is refused. */
export async function refusedPort (): Promise<number> {
  return (await unusedPorts(1))[0]!
}
