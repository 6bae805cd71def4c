/**
 * Attack: a flood of silent TCP connections (never sending the pnet nonce) from one address, 25 new per second,
 * against a real `rr p2p-serve` on 127.0.0.1. Before the inbound guard, about 70 of them locked every honest peer
 * out. The flood comes from 127.0.0.2 and the honest peer from 127.0.0.1 (both loopback, distinct sources).
 */
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import test from 'ava'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { tcp, type TCPSocketOptions } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { loadOrCreateSwarmKey } from '../../src/config/keys.js'
import { pnetCipher } from '../../src/p2p/node.js'
import { privateNetwork } from '../../src/p2p/pnet.js'
import { device } from '../helpers/peers.js'
import { tempDir } from '../helpers/tmp.js'

const second = 1000

/** Opens `perSecond` silent connections a second from `localAddress` until stopped; returns the stopper. */
function flood (port: number, localAddress: string, perSecond: number): { stop: () => void, opened: () => number } {
  const sockets = new Set<Socket>()
  let opened = 0
  const timer = setInterval(() => {
    const socket = connect({ host: '127.0.0.1', port, localAddress })
    opened++
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => sockets.delete(socket))
  }, second / perSecond)
  return {
    opened: () => opened,
    stop: () => {
      clearInterval(timer)
      for (const s of sockets) s.destroy()
    }
  }
}

/**
 * Keeps `perSource` silent connections open from each of `sources`, each reopened 200 ms after the server drops it:
 * under the per-address cap from every address, together over the total.
 */
function hold (port: number, sources: readonly string[], perSource: number): { stop: () => void, opened: () => number } {
  const sockets = new Set<Socket>()
  let opened = 0
  let stopping = false
  const one = (localAddress: string): void => {
    const socket = connect({ host: '127.0.0.1', port, localAddress })
    opened++
    sockets.add(socket)
    socket.on('error', () => {})
    socket.on('close', () => {
      sockets.delete(socket)
      if (!stopping) setTimeout(() => one(localAddress), 200)
    })
  }
  for (const source of sources) for (let k = 0; k < perSource; k++) one(source)
  return {
    opened: () => opened,
    stop: () => {
      stopping = true
      for (const s of sockets) s.destroy()
    }
  }
}

async function sleep (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}

test('an honest sync completes while silent connections flood the server, and the server logs the flood', async (t) => {
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  const a = device(t, dir, 'devA', swarm)
  const b = device(t, dir, 'devB', swarm)
  const ids = await a.record(3)
  const served = await a.serve()
  const port = Number(/\/tcp\/(\d+)\//.exec(served.addr)![1])
  const attack = flood(port, '127.0.0.2', 25)
  t.teardown(() => attack.stop())
  // Long enough for the flood to fill every slot it could: 25/s for 6 s is 150 handshakes that never finish.
  await sleep(6 * second)
  const results = []
  for (let i = 0; i < 3; i++) {
    const result = await b.rr(['p2p-sync', '--peers', served.addr], { timeoutMs: 90 * second })
    results.push(result)
    t.log(`sync ${i + 1}: exit ${result.code}; ${attack.opened()} flood connections opened so far`)
  }
  t.true(attack.opened() > 150)
  for (const r of results) t.is(r.code, 0, r.stdout + r.stderr)
  t.deepEqual(b.entryIds(), [...ids].sort())
  // One line per source per window, with a count.
  const deadline = Date.now() + 60 * second
  while (!/p2p: refused \d+ inbound connections from 127\.0\.0\.2/.test(served.output()) && Date.now() < deadline) await sleep(500)
  attack.stop()
  const lines = served.output().split('\n').filter((l) => l.includes('inbound connection'))
  t.log(lines.slice(0, 3).join('\n'))
  t.true(lines.some((l) => /^p2p: refused \d+ inbound connections from 127\.0\.0\.2 in the last 10 s: /.test(l)), served.output())
  t.false(lines.some((l) => l.includes('127.0.0.1')), 'the honest source is never refused')
})

test('silent connections from five addresses, each under the per-address cap, do not lock an honest peer out', async (t) => {
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  const a = device(t, dir, 'devA', swarm)
  const b = device(t, dir, 'devB', swarm)
  const ids = await a.record(3)
  const served = await a.serve()
  const port = Number(/\/tcp\/(\d+)\//.exec(served.addr)![1])
  // 5 × 13 = 65 handshakes that never finish, over the 64 slots, each address under its cap of 16. Refusing every
  // newcomer once the slots were full made 5 of 5 honest syncs fail here.
  const attack = hold(port, ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6'], 13)
  t.teardown(() => attack.stop())
  await sleep(3 * second)
  const results = []
  for (let i = 0; i < 3; i++) {
    const result = await b.rr(['p2p-sync', '--peers', served.addr], { timeoutMs: 90 * second })
    results.push(result)
    t.log(`sync ${i + 1}: exit ${result.code}; ${attack.opened()} flood connections opened so far`)
  }
  attack.stop()
  for (const r of results) t.is(r.code, 0, r.stdout + r.stderr)
  t.deepEqual(b.entryIds(), [...ids].sort())
  const deadline = Date.now() + 30 * second
  while (!/dropped mid-handshake/.test(served.output()) && Date.now() < deadline) await sleep(500)
  const lines = served.output().split('\n').filter((l) => l.includes('inbound connection'))
  t.log(lines.slice(0, 3).join('\n'))
  t.true(lines.some((l) => /^p2p: refused \d+ inbound connections from 127\.0\.0\.[2-6] in the last 10 s: .*dropped mid-handshake to make room for an address holding fewer/.test(l)), served.output())
  t.false(lines.some((l) => l.includes('127.0.0.1')), 'the honest source is never refused')
})

test('a swarm-key holder cannot take every connection slot from one address', async (t) => {
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  const a = device(t, dir, 'devA', swarm)
  const b = device(t, dir, 'devB', swarm)
  const ids = await a.record(3)
  const served = await a.serve()
  // A key holder's own libp2p node, dialing from 127.0.0.2, forcing a new connection each time. Before the cap, all
  // 80 stayed open (and 512 from one address reset every honest dial, with nothing logged).
  const attacker = await createLibp2p({
    privateKey: await generateKeyPair('Ed25519'),
    // @libp2p/tcp hands dialOpts to net.connect whole; its type lists only some of net.connect's options.
    transports: [tcp({ dialOpts: { noDelay: true, localAddress: '127.0.0.2' } as TCPSocketOptions })],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionProtector: privateNetwork({ psk: loadOrCreateSwarmKey(swarm).psk, implementation: pnetCipher() }),
    connectionManager: { maxConnections: 1000 }
  })
  t.teardown(async () => { await attacker.stop() })
  const target = multiaddr(served.addr)
  let refused = 0
  for (let i = 0; i < 80; i++) {
    try {
      await attacker.dial(target, { force: true, signal: AbortSignal.timeout(15 * second) })
    } catch {
      refused++
    }
  }
  await sleep(second)
  const held = attacker.getConnections().filter((c) => c.status === 'open').length
  t.log(`attacker holds ${held} connections; ${refused} dials failed`)
  t.true(held <= 32, `held ${held}`)
  t.true(held >= 16, `the attacker's first connections were refused too (${held} held)`)
  const result = await b.rr(['p2p-sync', '--peers', served.addr], { timeoutMs: 90 * second })
  t.is(result.code, 0, result.stdout + result.stderr)
  t.deepEqual(b.entryIds(), [...ids].sort())
  const deadline = Date.now() + 30 * second
  while (!/over the per-address limit of open connections/.test(served.output()) && Date.now() < deadline) await sleep(500)
  t.regex(served.output(), /p2p: refused \d+ inbound connections? from 127\.0\.0\.2 in the last 10 s: .*over the per-address limit of open connections/)
})
