/**
 * Attack: a swarm-key holder serves sync-pull and answers every request with a full batch of new entries,
 * forever (one such peer streamed 1.78 GB into a syncing device in 18 s, and the pull never ended), or does the
 * same with tombstones (kept forever, ~150 bytes each). The per-peer, per-round limit ends the round; the cursor is
 * kept, so the next round continues where this one stopped.
 */
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { syncPullProtocol, tombstonePullProtocol } from '../../src/protocol/constants.js'
import { device, type Device } from '../helpers/peers.js'
import { tempDir } from '../helpers/tmp.js'
import { answerPulls } from '../helpers/wire.js'
import { makeEntry, startPeer } from '../p2p/fixtures.js'

/**
 * Device B against a hostile peer that answers every pull on `protocol` with `items(cursor, n)`, n at most 1000, and
 * a cursor n further on, forever; B's round limit is 5000. Returns B, the peer's address and how many it served.
 */
async function endlessPeer (t: ExecutionContext, protocol: string, key: 'entries' | 'tombstones', items: (cursor: number, n: number) => unknown[]): Promise<{ b: Device, addr: string, served: () => number }> {
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  const b = device(t, dir, 'devB', swarm, { RUSTORY_SYNC_ROUND_MAX_ENTRIES: '5000', RUSTORY_SYNC_ROUND_MAX_BYTES: String(64 * 1024 * 1024) })
  await b.record(1)
  const hostile = await startPeer(t, { dir, swarmKeyPath: swarm, name: 'hostile', listen: ['/ip4/127.0.0.1/tcp/0'] })
  let served = 0
  await answerPulls(hostile, protocol, (request) => {
    const n = Math.min(request.limit, 1000)
    served += n
    return { [key]: items(request.cursor, n), next_cursor: request.cursor + n }
  })
  return { b, addr: hostile.addr, served: () => served }
}

test('a peer that answers every pull with more entries cannot keep a sync going past the round limit', async (t) => {
  // Only the 1.0.0 protocol: unsigned entries (the 2.0.0 one would need them signed; endless either way).
  const { b, addr, served } = await endlessPeer(t, syncPullProtocol, 'entries', (cursor, n) => Array.from({ length: n }, (_, i) => makeEntry(cursor + i, { device_id: 'hostile' })))
  const first = await b.rr(['p2p-sync', '--peers', addr], { timeoutMs: 110_000 })
  t.is(first.code, 0, first.stdout + first.stderr)
  t.regex(first.stderr + first.stdout, /reached this round's limit \(5000 entries/)
  const count = (): number => b.query<{ n: number }>('SELECT COUNT(*) AS n FROM entries WHERE device_id = ?', 'hostile')[0]!.n
  t.is(count(), 5000)
  t.true(served() <= 7000, `the hostile peer served ${served()} entries`)
  // The next round continues from the kept cursor, and stops again.
  const second = await b.rr(['p2p-sync', '--peers', addr], { timeoutMs: 110_000 })
  t.is(second.code, 0, second.stderr)
  t.is(count(), 10_000)
})

test('a peer that answers every tombstone pull with more tombstones cannot keep a sync going past the round limit', async (t) => {
  const { b, addr, served } = await endlessPeer(t, tombstonePullProtocol, 'tombstones', (cursor, n) => Array.from({ length: n }, (_, i) => ({ entry_id: makeEntry(cursor + i).entry_id, deleted_at: '2026-01-01T00:00:00.000Z', device_id: 'hostile' })))
  const first = await b.rr(['p2p-sync', '--peers', addr], { timeoutMs: 110_000 })
  t.regex(first.stderr + first.stdout, /reached this round's limit for tombstones \(5000 tombstones/)
  const count = (): number => b.query<{ n: number }>('SELECT COUNT(*) AS n FROM tombstones WHERE device_id = ?', 'hostile')[0]!.n
  t.is(count(), 5000)
  t.true(served() <= 7000, `the hostile peer served ${served()} tombstones`)
  // The next round continues from the kept cursor, and stops again.
  await b.rr(['p2p-sync', '--peers', addr], { timeoutMs: 110_000 })
  t.is(count(), 10_000)
})
