import test from 'ava'
import { CountedLog } from '../../src/p2p/counted-log.js'

const sleep = async (ms: number): Promise<void> => await new Promise((resolve) => setTimeout(resolve, ms))

test('the first line of a kind goes out at once; the rest of its window are told as one line with their count', async (t) => {
  const lines: string[] = []
  const log = new CountedLog((l) => lines.push(l), { windowMs: 200 })
  for (let i = 0; i < 50; i++) log.line('pull peerA malformed', `refused pull from peerA: bad ${i}`)
  log.line('pull peerB malformed', 'refused pull from peerB: bad')
  t.deepEqual(lines, ['refused pull from peerA: bad 0', 'refused pull from peerB: bad'])
  await sleep(400)
  // peerA's window ended with 49 more, the last of them told; peerB had none more: nothing more said.
  t.deepEqual(lines.slice(2), ['refused pull from peerA: bad 49 (and 49 more like it within 200 ms)'])
  // A new window: the next one goes out at once again.
  log.line('pull peerA malformed', 'refused pull from peerA: bad again')
  t.is(lines.at(-1), 'refused pull from peerA: bad again')
  log.flush()
  t.is(lines.length, 4)
})

test('past maxKinds at once, new kinds share one line: a holder of many PeerIds cannot get a line per stream', (t) => {
  const lines: string[] = []
  const log = new CountedLog((l) => lines.push(l), { windowMs: 60_000, maxKinds: 3 })
  for (let peer = 0; peer < 1000; peer++) log.line(`pull peer${peer} malformed`, `refused pull from peer${peer}`)
  t.deepEqual(lines, ['refused pull from peer0', 'refused pull from peer1', 'refused pull from peer2', 'refused pull from peer3 (more than 3 kinds of refusal at once: the rest are counted together)'])
  log.flush()
  t.is(lines.length, 5)
  t.is(lines[4], 'refused pull from peer999 (and 996 more like it from many peers within 60 s)')
})
