/**
 * The reuseport TCP transport on loopback: a dial leaves from the node's listen port (what a NAT must see for a hole
 * punch), the whole libp2p stack (pnet, Noise, Yamux, streams) runs over it, a second connection to the same address
 * falls back to an ephemeral port, and a listen port another process holds is still refused.
 */
import { createServer, type AddressInfo } from 'node:net'
import test from 'ava'
import { multiaddr } from '@multiformats/multiaddr'
import { reuseportAddon } from '../../src/p2p/reuseport-addon.js'
import { reuseportAvailable } from '../../src/p2p/tcp-reuseport.js'
import { tcpListenPorts } from '../../src/p2p/node.js'
import { dialDirect } from '../../src/p2p/index.js'
import { unusedPorts } from '../helpers/ports.js'
import { tempDir } from '../helpers/tmp.js'
import { startPeer } from './fixtures.js'

test('the addon loads (built by npm install)', (t) => {
  const loaded = reuseportAddon()
  t.true('addon' in loaded, 'error' in loaded ? loaded.error : '')
  t.true(reuseportAvailable())
})

test('a dial leaves from the listen port, and pnet + Noise + Yamux streams work over it', async (t) => {
  const dir = tempDir(t)
  const swarmKeyPath = `${dir}/swarm.key`
  const a = await startPeer(t, { dir, swarmKeyPath, name: 'a', listen: ['/ip4/127.0.0.1/tcp/0'], dialFromListenPort: 'always' })
  const b = await startPeer(t, { dir, swarmKeyPath, name: 'b', dbPath: `${dir}/b.db` })
  const portA = tcpListenPorts(a.node)[0]!
  const { connection, transport } = await dialDirect(a.node, b.addr)
  t.false(connection.remoteAddr.toString().includes('p2p-circuit'))
  // B's side of the same connection sees A's listen port as the remote port.
  const atB = await until(() => b.node.getConnections(a.node.peerId), (c) => c.length >= 1)
  t.is(atB.length, 1)
  t.is(atB[0]!.remoteAddr.getComponents().find((c) => c.name === 'tcp')?.value, String(portA), `B sees ${atB[0]!.remoteAddr.toString()}`)
  // A real exchange over the stack (pull on an empty database).
  const reply = JSON.parse(new TextDecoder().decode(await transport.pull({ cursor: 0, limit: 10 }))) as { entries: unknown[], next_cursor: unknown }
  t.deepEqual(reply, { entries: [], next_cursor: null })
})

test('a second connection to the same address cannot reuse the 4-tuple, so it goes from an ephemeral port', async (t) => {
  const dir = tempDir(t)
  const swarmKeyPath = `${dir}/swarm.key`
  const a = await startPeer(t, { dir, swarmKeyPath, name: 'a', listen: ['/ip4/127.0.0.1/tcp/0'], dialFromListenPort: 'always' })
  const b = await startPeer(t, { dir, swarmKeyPath, name: 'b', dbPath: `${dir}/b.db` })
  const portA = String(tcpListenPorts(a.node)[0])
  await dialDirect(a.node, b.addr)
  await dialDirect(a.node, b.addr, { newConnection: true })
  const ports = (await until(() => b.node.getConnections(a.node.peerId), (c) => c.length >= 2)).map((c) => c.remoteAddr.getComponents().find((p) => p.name === 'tcp')?.value)
  t.is(ports.length, 2)
  t.true(ports.includes(portA), ports.join(' '))
  t.true(ports.some((p) => p !== portA), ports.join(' '))
})

test('listening on a port another socket listens on still fails (SO_REUSEPORT does not share it)', async (t) => {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const port = (server.address() as AddressInfo).port
  const dir = tempDir(t)
  const error = await t.throwsAsync(startPeer(t, { dir, swarmKeyPath: `${dir}/swarm.key`, listen: [`/ip4/127.0.0.1/tcp/${port}`] }))
  t.regex(String(error?.message) + JSON.stringify((error as { errors?: unknown }).errors ?? ''), /EADDRINUSE|in use|listen/i)
})

test('a dial from the listen port to a closed port is refused from that port (a real answer, not retried)', async (t) => {
  const dir = tempDir(t)
  const swarmKeyPath = `${dir}/swarm.key`
  const a = await startPeer(t, { dir, swarmKeyPath, name: 'a', listen: ['/ip4/127.0.0.1/tcp/0'], dialFromListenPort: 'always' })
  const b = await startPeer(t, { dir, swarmKeyPath, name: 'b', listen: ['/ip4/127.0.0.1/tcp/0'] })
  const [closed] = await unusedPorts(1)
  const error = await t.throwsAsync(dialDirect(a.node, multiaddr(`/ip4/127.0.0.1/tcp/${closed!}/p2p/${b.peerId}`)))
  t.regex(JSON.stringify(errorMessages(error)), new RegExp(`from port ${tcpListenPorts(a.node)[0]!}: connect ECONNREFUSED`))
})

function errorMessages (err: unknown, out: string[] = []): string[] {
  if (err == null || typeof err !== 'object') return out
  out.push(String((err as Error).message))
  errorMessages((err as { cause?: unknown }).cause, out)
  for (const e of (err as { errors?: unknown[] }).errors ?? []) errorMessages(e, out)
  return out
}

/** Polls `read` until `ok` holds (the inbound side finishes its upgrade a moment after the dialer). */
async function until<T> (read: () => T, ok: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let value = read()
  while (!ok(value) && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    value = read()
  }
  return value
}
