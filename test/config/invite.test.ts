import test from 'ava'
import { createHash, randomBytes } from 'node:crypto'
import { join } from 'node:path'
import { decodeInvite, encodeInvite, type Invite } from '../../src/config/invite.js'
import { formatSwarmKey, swarmDiscoveryId, swarmKeyFingerprint, trackerUserId } from '../../src/config/keys.js'
import { loadSettings } from '../../src/config/settings.js'
import { isolatedEnv, rr } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'

const full: Invite = {
  swarmKey: Uint8Array.from(randomBytes(32)),
  userId: 'alice',
  trackers: ['http://127.0.0.1:8850', 'https://tracker.example.com'],
  trackerToken: 's3cret',
  relayAddr: '/ip4/127.0.0.1/tcp/4001/p2p/12D3KooWQYV9dGMFoRzNStwpXztXaBUjtPqi6aU76ZgUriHhKust'
}

test('an invite round-trips everything it carries, in one token without spaces', (t) => {
  const code = encodeInvite(full)
  t.regex(code, /^rr1-[A-Za-z0-9_-]+$/)
  const back = decodeInvite(code)
  t.deepEqual(Buffer.from(back.swarmKey), Buffer.from(full.swarmKey))
  t.deepEqual({ ...back, swarmKey: undefined }, { ...full, swarmKey: undefined })
  // Pasted with the `rr join` in front, or with surrounding whitespace, it still reads.
  t.deepEqual(decodeInvite(`  rr join ${code}\n`).trackers, full.trackers)
})

test('a minimal invite carries only the key', (t) => {
  const back = decodeInvite(encodeInvite({ swarmKey: full.swarmKey, trackers: [] }))
  t.deepEqual(back.trackers, [])
  t.false('userId' in back)
  t.false('relayAddr' in back)
})

test('a truncated code is refused at every length', (t) => {
  const code = encodeInvite(full)
  for (let n = 0; n < code.length; n++) {
    t.throws(() => decodeInvite(code.slice(0, n)), { name: 'InviteCodeError', message: /invalid invite code/ }, `length ${n}`)
  }
})

test('a code with any one character changed is refused', (t) => {
  const code = encodeInvite(full)
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_'
  for (let i = 4; i < code.length; i++) {
    const c = code[i]!
    const other = alphabet[(alphabet.indexOf(c) + 17) % alphabet.length]!
    const garbled = code.slice(0, i) + other + code.slice(i + 1)
    // The last character holds only 2-4 bits of data; a change there that keeps those bits decodes the same.
    try {
      const back = decodeInvite(garbled)
      t.deepEqual(Buffer.from(back.swarmKey), Buffer.from(full.swarmKey), `position ${i} decoded to something else`)
      t.true(i >= code.length - 1, `position ${i} was accepted`)
    } catch (err) {
      t.is((err as Error).name, 'InviteCodeError')
    }
  }
})

test('codes that are not invites say so', (t) => {
  t.throws(() => decodeInvite(''), { message: /empty/ })
  t.throws(() => decodeInvite('hello'), { message: /does not start with rr1-/ })
  t.throws(() => decodeInvite('rr1-abc def'), { message: /characters that are not in an invite/ })
  const notOurs = 'rr1-' + Buffer.concat([Buffer.from('{"v":2}'), Buffer.alloc(4)]).toString('base64url')
  t.throws(() => decodeInvite(notOurs), { message: /checksum/ })
})

test('the swarm discovery id is stable per key, differs between keys, and is neither the key nor its fingerprint', (t) => {
  const a = swarmDiscoveryId(full.swarmKey)
  t.is(a, swarmDiscoveryId(Uint8Array.from(full.swarmKey)))
  t.not(a, swarmDiscoveryId(Uint8Array.from(randomBytes(32))))
  t.regex(a, /^swarm-[0-9a-f]{32}$/)
  t.false(a.includes(Buffer.from(full.swarmKey).toString('hex').slice(0, 16)))
  t.false(a.includes(swarmKeyFingerprint(full.swarmKey)))
})

test('the trackers get the configured user_id when there is one, else the swarm id; the login name comes from LOGNAME/USER', (t) => {
  const swarm = { psk: new TextEncoder().encode(formatSwarmKey(full.swarmKey)), path: 'swarm.key' }
  const home = tempDir(t)
  const plain = loadSettings({}, { HOME: home, LOGNAME: 'ubuntu', USER: 'ignored' })
  t.is(plain.userId, 'ubuntu')
  t.false(plain.userIdConfigured)
  t.is(trackerUserId(plain, swarm), swarmDiscoveryId(full.swarmKey))
  const explicit = loadSettings({}, { HOME: home, LOGNAME: 'ubuntu', RUSTORY_USER_ID: 'alice' })
  t.true(explicit.userIdConfigured)
  t.is(trackerUserId(explicit, swarm), 'alice')
})

/** A code as a hostile inviting device could write it: any JSON, with a valid checksum. */
function rawCode (wire: Record<string, unknown>): string {
  const json = Buffer.from(JSON.stringify(wire))
  return `rr1-${Buffer.concat([json, createHash('sha256').update(json).digest().subarray(0, 4)]).toString('base64url')}`
}

test('an invite whose user_id, tracker token or relay address carries control characters is refused, naming the field', (t) => {
  const k = 'ab'.repeat(32)
  t.is(decodeInvite(rawCode({ v: 1, k, u: 'alice' })).userId, 'alice')
  for (const [field, what] of [['u', 'its user_id'], ['tt', 'its tracker token'], ['r', 'its relay address']] as const) {
    const value = field === 'r' ? '/dns/evil\u001b]0;PWNED\u0007/tcp/1/p2p/abc' : 'alice\u009b2J'
    t.throws(() => decodeInvite(rawCode({ v: 1, k, [field]: value })), { message: new RegExp(`^invalid invite code: ${what} contains control characters`) })
  }
})

test('rr join shows what a hostile invite code says as text: its version is quoted with no raw control character', async (t) => {
  const dir = tempDir(t)
  const out = await rr(['join', rawCode({ v: 'x\u001b]0;PWNED\u0007\u009b2J\u202e', k: 'ab'.repeat(32) })], { env: isolatedEnv(join(dir, 'home')) })
  t.is(out.code, 2, out.stderr)
  t.regex(out.stderr, /^rr: invalid invite code: it is version "x\\u001b\]0;PWNED\\u0007<U\+009B>2J<U\+202E>", this rr reads version 1/)
  t.false(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e]/.test(out.stderr), out.stderr)
})
