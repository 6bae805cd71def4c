import { join } from 'node:path'
import test from 'ava'
import { spawn } from 'node:child_process'
import { rrBin, repoRoot } from '../helpers/cli.js'
import { device, seedEntries } from '../helpers/peers.js'
import { tempDir } from '../helpers/tmp.js'
import { unusedPorts } from '../helpers/ports.js'

const columns = 'entry_id, device_id, user_id, ts, cmd, cwd, exit_code, duration_ms, shell, hostname, version'

test('two devices sync both ways and end with the same entries, once each', async (t) => {
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  const a = device(t, dir, 'devA', swarm)
  const b = device(t, dir, 'devB', swarm)
  const idsA = await a.record(5)
  const idsB = await b.record(4)
  const { addr } = await a.serve()
  const first = await b.rr(['p2p-sync', '--peers', addr, '--push'])
  t.is(first.code, 0, first.stderr)
  t.regex(first.stdout, /sync: peer=\w+ ok path=direct pulled=5 inserted=5 pushed=4/)
  const union = [...idsA, ...idsB].sort()
  t.deepEqual(a.entryIds(), union)
  t.deepEqual(b.entryIds(), union)
  // Rows are byte-identical on both sides.
  t.deepEqual(a.query(`SELECT ${columns} FROM entries ORDER BY entry_id`), b.query(`SELECT ${columns} FROM entries ORDER BY entry_id`))

  const second = await b.rr(['p2p-sync', '--peers', addr, '--push'])
  t.is(second.code, 0, second.stderr)
  t.regex(second.stdout, /inserted=0 pushed=0/)
  t.is(b.query<{ n: number }>('SELECT COUNT(*) AS n FROM entries')[0]!.n, 9)
  t.is(a.query<{ n: number }>('SELECT COUNT(*) AS n FROM entries')[0]!.n, 9)
})

test('--push sends only this device\'s own entries, never a third device\'s', async (t) => {
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  const a = device(t, dir, 'devA', swarm)
  const b = device(t, dir, 'devB', swarm)
  const c = device(t, dir, 'devC', swarm)
  await a.record(1)
  const idsB = await b.record(3)
  const idsC = await c.record(3)
  const servedC = await c.serve()
  t.is((await b.rr(['p2p-sync', '--peers', servedC.addr])).code, 0)
  t.is(b.entryIds().length, 7 - 1)
  const servedA = await a.serve()
  const pushed = await b.rr(['p2p-sync', '--peers', servedA.addr, '--push'])
  t.is(pushed.code, 0, pushed.stderr)
  t.regex(pushed.stdout, /pushed=3/)
  const onA = new Set(a.entryIds())
  t.true(idsB.every((id) => onA.has(id)))
  t.true(idsC.every((id) => !onA.has(id)), 'devC entries must not be pushed by devB')
})

test('a peer with a different swarm key is refused quickly with a clear reason', async (t) => {
  const dir = tempDir(t)
  const a = device(t, dir, 'devA', join(dir, 'swarm-a.key'))
  const b = device(t, dir, 'devB', join(dir, 'swarm-b.key'))
  await a.record(1)
  const { addr } = await a.serve()
  const started = Date.now()
  const result = await b.rr(['p2p-sync', '--peers', addr])
  const elapsed = Date.now() - started
  t.is(result.code, 1)
  t.regex(result.stdout + result.stderr, /swarm keys likely differ/)
  t.true(elapsed < 30_000, `took ${elapsed} ms`)
  t.deepEqual(b.entryIds(), [])
})

test('kill -9 of the syncing process mid-pull, then a re-run: complete, cursor consistent, no duplicates', async (t) => {
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  const a = device(t, dir, 'devA', swarm)
  const b = device(t, dir, 'devB', swarm)
  await a.record(1)
  seedEntries(a.dbPath, 60_000, 'devA', { cmdBytes: 200 })
  seedEntries(b.dbPath, 0, 'devB')
  const { addr } = await a.serve()
  // Small batches (1200 of them): the pull is still going for seconds when the loop below sees 1000 rows.
  const child = spawn(process.execPath, [rrBin, '--db-path', b.dbPath, 'p2p-sync', '--peers', addr, '--limit', '50'], { env: b.env, cwd: repoRoot, stdio: 'ignore' })
  // Kill once a few batches have landed, while the pull is still going.
  for (let i = 0; i < 1200; i++) {
    await new Promise((resolve) => setTimeout(resolve, 50))
    const rows = b.query<{ n: number }>('SELECT COUNT(*) AS n FROM entries').at(0)?.n ?? 0
    if (rows >= 1000) break
  }
  child.kill('SIGKILL')
  await new Promise((resolve) => child.once('exit', resolve))
  const partial = b.query<{ n: number }>('SELECT COUNT(*) AS n FROM entries')[0]!.n
  t.true(partial > 0 && partial < 60_001, `partial=${partial}`)
  // The stored cursor covers exactly the rows that landed: every A entry up to it is in B.
  const cursor = b.query<{ last_cursor: number }>('SELECT last_cursor FROM peer_state')[0]?.last_cursor ?? 0
  const upToCursor = a.query<{ entry_id: string }>('SELECT entry_id FROM entries WHERE ingest_seq <= ?', cursor).map((r) => r.entry_id)
  const inB = new Set(b.entryIds())
  t.true(upToCursor.every((id) => inB.has(id)))
  t.is(upToCursor.length, partial)

  const rerun = await b.rr(['p2p-sync', '--peers', addr, '--limit', '5000'], { timeoutMs: 120_000 })
  t.is(rerun.code, 0, rerun.stderr)
  t.deepEqual(b.entryIds(), a.entryIds())
  t.is(b.query<{ n: number }>('SELECT COUNT(*) AS n FROM entries')[0]!.n, 60_001)
  t.is(b.query<{ n: number }>('PRAGMA integrity_check').length, 1)
})

test('a cursor stored under a multiaddr by an older version moves to the PeerId once', async (t) => {
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  const a = device(t, dir, 'devA', swarm)
  const b = device(t, dir, 'devB', swarm)
  await a.record(3)
  await b.record(1)
  const { addr } = await a.serve()
  t.is((await b.rr(['p2p-sync', '--peers', addr])).code, 0)
  const peerId = addr.split('/p2p/')[1]!
  // Simulate the old layout: the cursor keyed by the multiaddr.
  const Database = (await import('better-sqlite3')).default
  const db = new Database(b.dbPath)
  db.prepare('UPDATE peer_state SET peer_id = ? WHERE peer_id = ?').run(addr, peerId)
  db.close()
  const again = await b.rr(['p2p-sync', '--peers', addr])
  t.is(again.code, 0, again.stderr)
  t.regex(again.stdout, /pulled=0 inserted=0/)
  t.deepEqual(b.query('SELECT peer_id, last_cursor FROM peer_state'), [{ peer_id: peerId, last_cursor: 3 }])
})

test('http-serve and http-sync move entries both ways through the same engine', async (t) => {
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  const a = device(t, dir, 'devA', swarm)
  const b = device(t, dir, 'devB', swarm)
  const idsA = await a.record(3)
  const idsB = await b.record(2)
  const { rrSpawn } = await import('../helpers/cli.js')
  const served = await rrSpawn(['--db-path', a.dbPath, 'http-serve', '--bind', '127.0.0.1:0'], { env: a.env, ready: /(http:\/\/127\.0\.0\.1:\d+)/ })
  t.teardown(() => { served.child.kill('SIGKILL') })
  const url = served.match[1]!
  const result = await b.rr(['http-sync', '--url', url, '--push'])
  t.is(result.code, 0, result.stderr)
  t.regex(result.stdout, /ok path=http pulled=3 inserted=3 pushed=2/)
  t.deepEqual(a.entryIds(), [...idsA, ...idsB].sort())
  t.deepEqual(b.entryIds(), [...idsA, ...idsB].sort())
})

test('p2p-sync to a peer that is not running fails after three attempts, non-zero', async (t) => {
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  const a = device(t, dir, 'devA', swarm)
  const b = device(t, dir, 'devB', swarm)
  // A port outside the ephemeral range, so no other test's listen(0) takes it while the three attempts run.
  const [port] = await unusedPorts(1)
  const { addr, child } = await a.serve([], `/ip4/127.0.0.1/tcp/${port!}`)
  child.kill('SIGKILL')
  await new Promise((resolve) => child.once('exit', resolve))
  const result = await b.rr(['p2p-sync', '--peers', addr])
  t.is(result.code, 1)
  t.is((result.stderr.match(/dial: direct attempt \d\/3 .*failed/g) ?? []).length, 3)
  t.regex(result.stdout, /FAILED step=direct/)
})

test('a peer on the pure-JS pnet cipher (@noble/ciphers) and one on libsodium sync with each other both ways', async (t) => {
  // RUSTORY_XSALSA20=noble makes the replacement cipher skip sodium-native: what a platform without the addon gets.
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  const a = device(t, dir, 'devA', swarm, { RUSTORY_XSALSA20: 'noble' })
  const b = device(t, dir, 'devB', swarm)
  const idsA = await a.record(30)
  const idsB = await b.record(20)
  const { addr, output } = await a.serve()
  const synced = await b.rr(['p2p-sync', '--peers', addr, '--push', '--limit', '7'])
  t.is(synced.code, 0, synced.stderr)
  // Each side says which cipher it runs when it is not libsodium: only devA does.
  t.regex(output(), /private-network cipher runs on @noble\/ciphers.*RUSTORY_XSALSA20=noble/)
  t.notRegex(synced.stderr, /private-network cipher runs on/)
  t.regex(synced.stdout, /pulled=30 inserted=30 pushed=20/)
  const union = [...idsA, ...idsB].sort()
  t.deepEqual(a.entryIds(), union)
  t.deepEqual(b.entryIds(), union)
})
