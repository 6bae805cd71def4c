/**
 * What discovery tells the supervisor it still knows, with a real SQLite peer book and no tracker answering (a
 * refused port): the peers seen within the window are targets and known; one past the window is neither, so its
 * machine is stopped.
 */
import { join } from 'node:path'
import test from 'ava'
import { createDiscovery } from '../../actors/discovery.js'
import { daySec } from '../../src/core/units.js'
import { openDatabase } from '../../src/store/db.js'
import { upsertPeerBook } from '../../src/store/peers.js'
import { unusedPorts } from '../helpers/ports.js'
import { tempDir } from '../helpers/tmp.js'

const peer = (id: string, ageSec: number): Parameters<typeof upsertPeerBook>[1][number] => ({
  peer_id: id,
  addrs: [`/ip4/127.0.0.1/tcp/4001/p2p/${id}`],
  user_id: 'u',
  device_id: id,
  hostname: id,
  last_seen_unix: Math.floor(Date.now() / 1000) - ageSec
})

test('with the trackers down, discovery knows the peer book\'s peers within its window and lets older ones go', async (t) => {
  const db = openDatabase(join(tempDir(t), 'h.db'))
  t.teardown(() => db.close())
  upsertPeerBook(db, [peer('recent', 60), peer('old', 8 * daySec), peer('edge', 6 * daySec)])
  const [closed] = await unusedPorts(1)
  const discovery = createDiscovery({ trackers: [`http://127.0.0.1:${closed!}`], userId: 'u', self: new Set(['me']), db, log: () => {} })
  const { targets, known } = await discovery.discoverPeers(AbortSignal.timeout(30_000))
  t.deepEqual(targets.map((p) => p.key).sort(), ['edge', 'recent'])
  t.deepEqual([...known ?? []].sort(), ['edge', 'recent'])
  t.false(known?.has('old'), 'a peer past the window is not known: the supervisor stops its machine')
})
