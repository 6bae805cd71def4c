import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'ava'
import { formatSwarmKey, KeyFileError, loadOrCreateIdentity, loadOrCreateSwarmKey, swarmKeyFingerprint } from '../../src/config/keys.js'
import { tempDir } from '../helpers/tmp.js'

test('a missing swarm key is created in the standard pnet format with mode 0600, and its folders too', (t) => {
  const path = join(tempDir(t), 'nested', 'dir', 'swarm.key')
  const key = loadOrCreateSwarmKey(path)
  t.true(key.created)
  t.regex(readFileSync(path, 'utf8'), /^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}\n$/)
  t.is(statSync(path).mode & 0o777, 0o600)
  t.is(statSync(join(path, '..')).mode & 0o777, 0o700)
  t.false(key.looseMode)
})

test('loading again returns the same key and fingerprint without creating anything', (t) => {
  const path = join(tempDir(t), 'swarm.key')
  const first = loadOrCreateSwarmKey(path)
  const second = loadOrCreateSwarmKey(path)
  t.false(second.created)
  t.is(second.fingerprint, first.fingerprint)
  t.deepEqual(second.psk, first.psk)
})

test('the fingerprint is equal for equal keys (CRLF, upper-case hex) and differs for different keys, never showing the key', (t) => {
  const dir = tempDir(t)
  const hex = 'ab'.repeat(32)
  writeFileSync(join(dir, 'a.key'), `/key/swarm/psk/1.0.0/\n/base16/\n${hex}`)
  writeFileSync(join(dir, 'b.key'), `/key/swarm/psk/1.0.0/\r\n/base16/\r\n${hex.toUpperCase()}\r\n`)
  writeFileSync(join(dir, 'c.key'), `/key/swarm/psk/1.0.0/\n/base16/\n${'cd'.repeat(32)}\n`)
  const a = loadOrCreateSwarmKey(join(dir, 'a.key'))
  const b = loadOrCreateSwarmKey(join(dir, 'b.key'))
  const c = loadOrCreateSwarmKey(join(dir, 'c.key'))
  t.is(a.fingerprint, b.fingerprint)
  t.not(a.fingerprint, c.fingerprint)
  t.regex(a.fingerprint, /^[0-9a-f]{16}$/)
  t.false(hex.includes(a.fingerprint))
  t.is(swarmKeyFingerprint(Buffer.from(hex, 'hex')), a.fingerprint)
  t.is(Buffer.from(a.psk).toString(), formatSwarmKey(Buffer.from(hex, 'hex')))
})

for (const [title, content] of [
  ['a wrong header', `/key/swarm/psk/2.0.0/\n/base16/\n${'ab'.repeat(32)}\n`],
  ['an unsupported encoding', `/key/swarm/psk/1.0.0/\n/base64/\n${'ab'.repeat(32)}\n`],
  ['a short key', `/key/swarm/psk/1.0.0/\n/base16/\n${'ab'.repeat(31)}\n`],
  ['non-hex digits', `/key/swarm/psk/1.0.0/\n/base16/\n${'zz'.repeat(32)}\n`],
  ['an empty file', '']
] as const) {
  test(`a swarm key with ${title} is a KeyFileError naming the file, and the file is left as it was`, (t) => {
    const path = join(tempDir(t), 'swarm.key')
    writeFileSync(path, content, { mode: 0o600 })
    const err = t.throws(() => loadOrCreateSwarmKey(path), { instanceOf: KeyFileError })
    t.is(err?.name, 'KeyFileError')
    t.is(err?.exitCode, 2)
    t.true(err?.message.startsWith(`${path}:`))
    t.is(readFileSync(path, 'utf8'), content)
  })
}

test('an identity is created once (0600) and gives the same PeerId on every load', async (t) => {
  const path = join(tempDir(t), 'keys', 'identity.key')
  const first = await loadOrCreateIdentity(path)
  t.true(first.created)
  t.is(statSync(path).mode & 0o777, 0o600)
  t.is(statSync(path).size, 68)
  const second = await loadOrCreateIdentity(path)
  t.false(second.created)
  t.is(second.peerId, first.peerId)
  t.regex(first.peerId, /^12D3KooW/)
})

test('a malformed identity key is a KeyFileError naming the file and is never replaced', async (t) => {
  const path = join(tempDir(t), 'identity.key')
  writeFileSync(path, 'not a key')
  const err = await t.throwsAsync(loadOrCreateIdentity(path), { name: 'KeyFileError' })
  t.true(err?.message.includes(path))
  t.is(readFileSync(path, 'utf8'), 'not a key')
})
