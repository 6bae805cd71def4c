/**
 * Attack: a flood of silent TCP connections (never sending the pnet nonce) from one address, 25 new per second,
 * against a real `rr p2p-serve` on 127.0.0.1. Before the inbound guard, about 70 of them locked every honest peer
 * out. The flood comes from 127.0.0.2 and the honest peer from 127.0.0.1 (both loopback, distinct sources).
 */
import { connect, type Socket } from 'node:net'
import { join } from 'node:path'
import test from 'ava'
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
