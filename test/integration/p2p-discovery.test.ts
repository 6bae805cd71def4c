import { join } from 'node:path'
import test from 'ava'
import { openDatabase } from '../../src/store/db.js'
import { rrSpawn, stop } from '../helpers/cli.js'
import { device } from '../helpers/peers.js'
import { tempDir } from '../helpers/tmp.js'
import { unusedPorts } from '../helpers/ports.js'

async function registerPeer (tracker: string, addr: string, token?: string): Promise<Response> {
  const [, peerId] = addr.split('/p2p/')
  return await fetch(`${tracker}/api/v1/peers/register`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token != null ? { authorization: `Bearer ${token}` } : {}) },
    body: JSON.stringify({ peer_id: peerId, addrs: [addr.split('/p2p/')[0]], meta: { device_id: 'devA', hostname: 'host-a', user_id: 'alice', version: '0.1.0' } })
  })
}

test('without --peers, p2p-sync asks the tracker, caches the answer, and uses the peer book when the tracker is down', async (t) => {
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  const a = device(t, dir, 'devA', swarm, { RUSTORY_USER_ID: 'alice' })
  const b = device(t, dir, 'devB', swarm, { RUSTORY_USER_ID: 'alice' })
  // Once stopped, its port must stay refused: one outside the range other tests' listen(0) can take.
  const [port] = await unusedPorts(1)
  // The registration below is unsigned, as from a peer on a release before signed registrations.
  const tracker = await rrSpawn(['tracker-serve', '--bind', `127.0.0.1:${port!}`, '--ttl-sec', '60', '--allow-unsigned'], { env: a.env, ready: /tracker listen: (http:\/\/\S+)/ })
  t.teardown(async () => { await stop(tracker.child) })
  const url = tracker.match[1]!
  const first = await a.record(2)
  const { addr } = await a.serve()
  t.is((await registerPeer(url, addr)).status, 200)

  const synced = await b.rr(['p2p-sync', '--trackers', url])
  t.is(synced.code, 0, synced.stderr)
  t.regex(synced.stderr, /tracker: http:\/\/127\.0\.0\.1:\d+ knows 1 peer/)
  t.deepEqual(b.entryIds(), [...first].sort())
  const book = b.query<{ peer_id: string, device_id: string, user_id: string }>('SELECT peer_id, device_id, user_id FROM peer_book')
  t.deepEqual(book, [{ peer_id: addr.split('/p2p/')[1]!, device_id: 'devA', user_id: 'alice' }])

  await stop(tracker.child)
  const later = await a.record(1, 'after the tracker went down')
  // In A's database before B pulls (p2p-serve's spool watcher would move it within moments; not what this tests).
  t.true(a.entryIds().includes(later[0]!))
  const fallback = await b.rr(['p2p-sync', '--trackers', url])
  t.is(fallback.code, 0, fallback.stderr)
  t.regex(fallback.stderr, /no tracker answered; using 1 peer\(s\) seen in the last 7 days from the peer book/)
  t.deepEqual(b.entryIds(), [...first, ...later].sort())
})

test('the peer book fallback keeps to the same user', async (t) => {
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  const b = device(t, dir, 'devB', swarm, { RUSTORY_USER_ID: 'bob' })
  await b.record(1)
  // Opened as rr opens it: created, migrated, and the recorded command moved in from the spool.
  const db = openDatabase(b.dbPath)
  db.prepare('INSERT INTO peer_book (peer_id, addrs, user_id, device_id, hostname, last_seen_unix) VALUES (?, ?, ?, ?, ?, ?)')
    .run('12D3KooWLhVwQaj8yLzmmzE9iNzbnSf7N3pyGGrrJ2SKmVzrd2PW', JSON.stringify(['/ip4/127.0.0.1/tcp/9']), 'mallory', 'devM', 'host-m', Math.floor(Date.now() / 1000))
  db.close()
  const result = await b.rr(['p2p-sync', '--trackers', 'http://127.0.0.1:9'])
  t.is(result.code, 1)
  t.regex(result.stderr, /using 0 peer\(s\)/)
  t.regex(result.stderr, /no peers to sync with/)
})

test('a wrong tracker token is refused with 401 and a clear client error', async (t) => {
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  const b = device(t, dir, 'devB', swarm, { RUSTORY_TRACKER_TOKEN: 'wrong' })
  const tracker = await rrSpawn(['tracker-serve', '--bind', '127.0.0.1:0'], { env: { ...b.env, RUSTORY_TRACKER_TOKEN: 'right' }, ready: /tracker listen: (http:\/\/\S+)/ })
  t.teardown(async () => { await stop(tracker.child) })
  const url = tracker.match[1]!
  t.is((await fetch(`${url}/api/v1/peers`)).status, 401)
  const result = await b.rr(['p2p-sync', '--trackers', url])
  t.is(result.code, 1)
  t.regex(result.stderr, /refused the token \(401\)/)
})
