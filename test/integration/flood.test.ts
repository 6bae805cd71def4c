/**
 * Attack: a flood of silent TCP connections (never sending the pnet nonce) from one address, 25 new per second,
 * against a real `rr p2p-serve` on 127.0.0.1. Before the inbound guard, about 70 of them locked every honest peer
 * out. The flood comes from 127.0.0.2 and the honest peer from 127.0.0.1 (both loopback, distinct sources).
 */
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { tcp, type TCPSocketOptions } from '@libp2p/tcp'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { loadOrCreateSwarmKey } from '../../src/config/keys.js'
import { pnetCipher } from '../../src/p2p/node.js'
import { privateNetwork } from '../../src/p2p/pnet.js'
import { device, type Device } from '../helpers/peers.js'
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

/** Device A serving three recorded entries with a real `rr p2p-serve`, and device B that syncs them. */
async function scene (t: ExecutionContext): Promise<{ swarm: string, b: Device, ids: string[], served: Awaited<ReturnType<Device['serve']>>, port: number }> {
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  const a = device(t, dir, 'devA', swarm)
  const b = device(t, dir, 'devB', swarm)
  const ids = await a.record(3)
  const served = await a.serve()
  return { swarm, b, ids, served, port: Number(/\/tcp\/(\d+)\//.exec(served.addr)![1]) }
}

/** B syncs `times` times in a row, each a whole `rr p2p-sync`, and must succeed every time and end with A's entries. */
async function honestSyncs (t: ExecutionContext, s: Awaited<ReturnType<typeof scene>>, times: number, meanwhile: () => string): Promise<void> {
  const results = []
  for (let i = 0; i < times; i++) {
    const result = await s.b.rr(['p2p-sync', '--peers', s.served.addr], { timeoutMs: 90 * second })
    results.push(result)
    t.log(`sync ${i + 1}: exit ${result.code}; ${meanwhile()}`)
  }
  for (const r of results) t.is(r.code, 0, r.stdout + r.stderr)
  t.deepEqual(s.b.entryIds(), [...s.ids].sort())
}

/** The server's refusal lines, once one matches `pattern` (waiting for its 10 s window to close, up to `waitMs`). */
async function refusalLines (t: ExecutionContext, served: Awaited<ReturnType<Device['serve']>>, pattern: RegExp, waitMs: number): Promise<string[]> {
  const deadline = Date.now() + waitMs
  while (!pattern.test(served.output()) && Date.now() < deadline) await sleep(500)
  const lines = served.output().split('\n').filter((l) => l.includes('inbound connection'))
  t.log(lines.slice(0, 3).join('\n'))
  return lines
}

test('an honest sync completes while silent connections flood the server, and the server logs the flood', async (t) => {
  const s = await scene(t)
  const attack = flood(s.port, '127.0.0.2', 25)
  t.teardown(() => attack.stop())
  // Long enough for the flood to fill every slot it could: 25/s for 6 s is 150 handshakes that never finish.
  await sleep(6 * second)
  await honestSyncs(t, s, 3, () => `${attack.opened()} flood connections opened so far`)
  t.true(attack.opened() > 150)
  // One line per source per window, with a count.
  const lines = await refusalLines(t, s.served, /p2p: refused \d+ inbound connections from 127\.0\.0\.2/, 60 * second)
  attack.stop()
  t.true(lines.some((l) => /^p2p: refused \d+ inbound connections from 127\.0\.0\.2 in the last 10 s: /.test(l)), s.served.output())
  t.false(lines.some((l) => l.includes('127.0.0.1')), 'the honest source is never refused')
})

test('silent connections from five addresses, each under the per-address cap, do not lock an honest peer out', async (t) => {
  const s = await scene(t)
  // 5 × 13 = 65 handshakes that never finish, over the 64 slots, each address under its cap of 16. Refusing every
  // newcomer once the slots were full made 5 of 5 honest syncs fail here.
  const attack = hold(s.port, ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6'], 13)
  t.teardown(() => attack.stop())
  await sleep(3 * second)
  await honestSyncs(t, s, 3, () => `${attack.opened()} flood connections opened so far`)
  attack.stop()
  const lines = await refusalLines(t, s.served, /dropped mid-handshake/, 30 * second)
  t.true(lines.some((l) => /^p2p: refused \d+ inbound connections from 127\.0\.0\.[2-6] in the last 10 s: .*dropped mid-handshake to make room for an address holding fewer/.test(l)), s.served.output())
  t.false(lines.some((l) => l.includes('127.0.0.1')), 'the honest source is never refused')
})

test('a swarm-key holder cannot take every connection slot from one address', async (t) => {
  const s = await scene(t)
  // A key holder's own libp2p node, dialing from 127.0.0.2, forcing a new connection each time. Before the cap, all
  // 80 stayed open (and 512 from one address reset every honest dial, with nothing logged).
  const attacker = await createLibp2p({
    privateKey: await generateKeyPair('Ed25519'),
    // @libp2p/tcp hands dialOpts to net.connect whole; its type lists only some of net.connect's options.
    transports: [tcp({ dialOpts: { noDelay: true, localAddress: '127.0.0.2' } as TCPSocketOptions })],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionProtector: privateNetwork({ psk: loadOrCreateSwarmKey(s.swarm).psk, implementation: pnetCipher() }),
    connectionManager: { maxConnections: 1000 }
  })
  t.teardown(async () => { await attacker.stop() })
  const target = multiaddr(s.served.addr)
  let failed = 0
  for (let i = 0; i < 80; i++) {
    try {
      await attacker.dial(target, { force: true, signal: AbortSignal.timeout(15 * second) })
    } catch {
      failed++
    }
  }
  await sleep(second)
  const held = attacker.getConnections().filter((c) => c.status === 'open').length
  t.log(`attacker holds ${held} connections; ${failed} dials failed`)
  t.true(held <= 32, `held ${held}`)
  t.true(held >= 16, `the attacker's first connections were refused too (${held} held)`)
  await honestSyncs(t, s, 1, () => `the attacker holds ${held}`)
  const lines = await refusalLines(t, s.served, /over the per-address limit of open connections/, 30 * second)
  t.true(lines.some((l) => /^p2p: refused \d+ inbound connections? from 127\.0\.0\.2 in the last 10 s: .*over the per-address limit of open connections/.test(l)), s.served.output())
})
