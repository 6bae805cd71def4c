/**
 * Attacks on a real `rr tracker-serve` on 127.0.0.1 by someone who holds the tracker token: moving another user's
 * peer (hijack), listing every user, flooding a user's list with fakes, and slow readers of a big listing.
 */
import { readFileSync } from 'node:fs'
import { connect, type Socket } from 'node:net'
import test from 'ava'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PrivateKey } from '@libp2p/interface'
import { listPeers, register, TrackerError } from '../../src/tracker/index.js'
import { signRegistration } from '../../src/tracker/signature.js'
import type { RegisterRequest } from '../../src/tracker/types.js'
import { isolatedEnv, rrSpawn, stop } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'
import { fakePeerId } from '../tracker/fixtures.js'

const MiB = 1024 * 1024

async function tracker (t: Parameters<typeof tempDir>[0], extra: string[] = []): Promise<{ url: string, pid: number, output: () => string }> {
  const env = isolatedEnv(tempDir(t), { RUSTORY_TRACKER_TOKEN: 'shared-token' })
  const { child, match, output } = await rrSpawn(['tracker-serve', '--bind', '127.0.0.1:0', '--ttl-sec', '120', ...extra], { env, ready: /tracker listen: (http:\/\/127\.0\.0\.1:\d+)\n/ })
  t.teardown(async () => { await stop(child) })
  return { url: match[1]!, pid: child.pid!, output }
}

async function identity (): Promise<{ key: PrivateKey, peerId: string }> {
  const key = await generateKeyPair('Ed25519')
  return { key, peerId: peerIdFromPrivateKey(key).toString() }
}

function body (peerId: string, userId: string, addrs = [`/ip4/192.168.1.20/tcp/8845/p2p/${peerId}`]): RegisterRequest {
  return { peer_id: peerId, addrs, meta: { device_id: `dev-${userId}`, hostname: 'h', user_id: userId, version: '0.2.0' } }
}

const token = { token: 'shared-token', policy: { attempts: 1, baseTimeoutMs: 60_000 } }

test('only the owner of a PeerId can register it: unsigned, foreign-signed, altered and replayed registrations are refused', async (t) => {
  const { url, output } = await tracker(t)
  const victim = await identity()
  const mallory = await identity()
  const genuine = await signRegistration(body(victim.peerId, 'victim'), (b) => victim.key.sign(b))
  await register(url, genuine, token)
  const listed = async (): Promise<string[]> => (await listPeers(url, { ...token, userId: 'victim' })).map((p) => p.peer_id)
  t.deepEqual(await listed(), [victim.peerId])

  // Unsigned, as today's release did: refused with the reason.
  const unsigned = await t.throwsAsync(register(url, body(victim.peerId, 'mallory'), token), { instanceOf: TrackerError })
  t.regex(unsigned!.message, /unsigned registration refused/)
  // Signed by another key.
  const foreign = await signRegistration(body(victim.peerId, 'mallory', [`/ip4/10.0.0.1/tcp/22/p2p/${victim.peerId}`]), (b) => mallory.key.sign(b))
  const foreignErr = await t.throwsAsync(register(url, foreign, token), { instanceOf: TrackerError })
  t.regex(foreignErr!.message, /\(403\).*only the owner of that PeerId's identity key can register it/)
  // The genuine signature over an altered body.
  const altered = await t.throwsAsync(register(url, { ...genuine, meta: { ...genuine.meta, user_id: 'mallory' } }, token), { instanceOf: TrackerError })
  t.regex(altered!.message, /\(403\)/)
  // The genuine registration replayed after a newer one (to move the peer back to old addresses).
  await new Promise((resolve) => setTimeout(resolve, 5))
  await register(url, await signRegistration(body(victim.peerId, 'victim', [`/ip4/192.168.1.21/tcp/8845/p2p/${victim.peerId}`]), (b) => victim.key.sign(b)), token)
  const replayed = await t.throwsAsync(register(url, genuine, token), { instanceOf: TrackerError })
  t.regex(replayed!.message, /\(409\).*a replay/)

  t.deepEqual(await listed(), [victim.peerId], 'the victim is still listed under its own user')
  const [record] = await listPeers(url, { ...token, userId: 'victim' })
  t.deepEqual(record!.addrs, [`/ip4/192.168.1.21/tcp/8845/p2p/${victim.peerId}`])
  t.deepEqual(await listPeers(url, { ...token, userId: 'mallory' }), [])
  // Listing every user at once is refused.
  const all = await fetch(`${url}/api/v1/peers`, { headers: { authorization: 'Bearer shared-token' } })
  t.is(all.status, 400)
  t.regex(((await all.json()) as { error: string }).error, /user_id is required/)
  t.regex(output(), /tracker register refused: .*reason=unsigned/)
})

test('a flood of fake peers under a victim\'s user_id stops at the per-user cap, and the victim takes at most 32 per answer', async (t) => {
  const { url } = await tracker(t)
  let accepted = 0
  let refused = 0
  let reason = ''
  for (let i = 0; i < 100; i++) {
    const fake = await identity()
    try {
      await register(url, await signRegistration(body(fake.peerId, 'victim', ['/ip4/10.0.0.1/tcp/22', `/ip4/10.0.0.2/tcp/22/p2p/${(await identity()).peerId}`]), (b) => fake.key.sign(b)), token)
      accepted++
    } catch (err) {
      refused++
      reason = (err as Error).message
    }
  }
  t.log(`accepted ${accepted}, refused ${refused}: ${reason}`)
  t.is(accepted, 64)
  t.is(refused, 36)
  t.regex(reason, /HTTP 429: user_id "victim" already has 64 live registrations \(the per-user limit\)/)
  const dropped: string[] = []
  const peers = await listPeers(url, { ...token, userId: 'victim', onDropped: ({ count, reason }) => dropped.push(`${count} ${reason}`) })
  t.is(peers.length, 32)
  // The address that names another PeerId is never handed to the dialer.
  t.true(peers.every((p) => p.addrs.length === 1 && p.addrs[0] === '/ip4/10.0.0.1/tcp/22'))
  t.true(dropped.includes('32 over 32 peers in one answer'), dropped.join('; '))
})

test('a client drops records of another user_id even when the tracker returns them', async (t) => {
  const { acceptedPeers } = await import('../../src/tracker/client.js')
  const own = await identity()
  const record = { ...(await signRegistration(body(own.peerId, 'alice'), (b) => own.key.sign(b))), last_seen_unix: 1 }
  const tampered = { ...record, addrs: ['/ip4/10.0.0.1/tcp/22'] }
  const { peers, dropped } = await acceptedPeers([{ ...record, meta: { ...record.meta, user_id: 'bob' } }, tampered, record], { userId: 'alice' })
  t.deepEqual(peers.map((p) => p.addrs), [record.addrs])
  t.deepEqual([...dropped.keys()], ['another user_id', 'a signature that does not match'])
})

function rssBytes (pid: number): number {
  const match = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(match![1]) * 1024
}

test('24 readers that never read a 30 MB listing do not take the tracker past 300 MB', async (t) => {
  const { url, pid } = await tracker(t, ['--allow-unsigned', '--max-peers-per-user', '5000', '--max-peers-per-source', '5000'])
  const { port } = new URL(url)
  // ~30 KB per registration (64 addresses of ~460 characters): 950 of them fill ~30 MB of one user's listing.
  const pad = 'x'.repeat(400)
  for (let i = 0; i < 950; i++) {
    const peerId = fakePeerId(i)
    const addrs = Array.from({ length: 64 }, (_, j) => `/dns4/h${j}${pad}.example/tcp/${1000 + j}/p2p/${peerId}`)
    await register(url, body(peerId, 'big', addrs), token)
  }
  const before = rssBytes(pid)
  const readers: Socket[] = []
  t.teardown(() => { for (const s of readers) s.destroy() })
  for (let i = 0; i < 24; i++) {
    const socket = connect({ host: '127.0.0.1', port: Number(port) })
    socket.on('error', () => {})
    socket.write('GET /api/v1/peers?user_id=big HTTP/1.1\r\nhost: 127.0.0.1\r\nauthorization: Bearer shared-token\r\n\r\n')
    socket.pause()
    readers.push(socket)
  }
  let peak = before
  for (let i = 0; i < 20; i++) {
    await new Promise((resolve) => setTimeout(resolve, 500))
    peak = Math.max(peak, rssBytes(pid))
  }
  t.log(`tracker RSS ${Math.round(before / MiB)} MB before the readers, peak ${Math.round(peak / MiB)} MB with 24 stalled readers`)
  t.true(peak < 300 * MiB, `peak RSS ${Math.round(peak / MiB)} MB`)
  // And an honest reader still gets the whole listing meanwhile.
  const all = await listPeers(url, { ...token, userId: 'big', maxPeers: 10_000 })
  t.is(all.length, 950)
})
