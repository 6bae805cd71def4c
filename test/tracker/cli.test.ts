import test from 'ava'
import { listPeers, register, TrackerError } from '../../src/tracker/index.js'
import { isolatedEnv, rr, rrSpawn, stop } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'
import { fakePeerId, registerBody } from './fixtures.js'

test('rr tracker-serve: token from the environment, registrations expire after --ttl-sec, clean stop on SIGTERM', async (t) => {
  const home = tempDir(t)
  const env = isolatedEnv(home, { RUSTORY_TRACKER_TOKEN: 'env-secret' })
  const { child, match, output } = await rrSpawn(['tracker-serve', '--bind', '127.0.0.1:0', '--ttl-sec', '3', '--allow-unsigned'], { env, ready: /tracker listen: (http:\/\/127\.0\.0\.1:\d+)\n/ })
  t.teardown(async () => { await stop(child) })
  const url = match[1]!
  t.false(child.spawnargs.join(' ').includes('env-secret'), 'the token is not on the command line')

  const noToken = await fetch(`${url}/api/v1/ping`)
  t.is(noToken.status, 401)
  t.deepEqual(await noToken.json(), { error: 'unauthorized' })
  const wrong = await t.throwsAsync(listPeers(url, { token: 'nope' }), { instanceOf: TrackerError })
  t.regex(wrong!.message, /refused the token \(401\): check tracker_token \/ RUSTORY_TRACKER_TOKEN/)

  // 3 s ttl: long enough for register → list on a busy machine, short enough to watch it expire.
  const registeredAt = Date.now()
  const answer = await register(url, registerBody(7, 'zrma'), { token: 'env-secret' })
  t.is(answer.ttl_sec, 3)
  t.regex(answer.observed_addr, /^\/ip4\/127\.0\.0\.1\/tcp\/\d+$/)
  const seen = await fetch(`${url}/api/v1/peers?user_id=zrma`, { headers: { 'x-rustory-token': 'env-secret' } })
  t.deepEqual(((await seen.json()) as { peers: Array<{ peer_id: string }> }).peers.map((p) => p.peer_id), [fakePeerId(7)])
  // Listed until the ttl has passed, gone after it.
  const deadline = registeredAt + 20_000
  while ((await listPeers(url, { token: 'env-secret', userId: 'zrma' })).length > 0) {
    if (Date.now() > deadline) throw new Error('still listed 20 s after a 3 s ttl')
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
  const goneAfter = Date.now() - registeredAt
  t.true(goneAfter >= 2900, `expired ${goneAfter} ms after the register, before the 3 s ttl`)

  t.regex(output(), new RegExp(`tracker register: peer=${fakePeerId(7)} addrs=1 user="zrma"`))
  t.is(await stop(child), 0)
  t.regex(output(), /tracker stopped/)
})

test('rr tracker-serve refuses a malformed --bind with a usage error', async (t) => {
  const home = tempDir(t)
  const result = await rr(['tracker-serve', '--bind', 'nonsense'], { env: isolatedEnv(home) })
  t.is(result.code, 2)
  t.regex(result.stderr, /--bind "nonsense": expected host:port/)
})
