import test from 'ava'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { entryHash, maxChunkEntries, verifyChunk, type Chunk } from '../../src/core/chunk.js'
import type { EntrySigner } from '../../src/core/signature.js'
import { openDatabase } from '../../src/store/db.js'
import { insertEntries, knownChunks, signPending, stripSeq, trust } from '../../src/store/entries.js'
import { tempDir } from '../helpers/tmp.js'
import { entry } from './fixtures.js'

async function signer (): Promise<EntrySigner> {
  const key = await generateKeyPair('Ed25519')
  return { origin: peerIdFromPrivateKey(key).toString(), secretKey: key.raw }
}

test('signing pending entries makes one manifest per 256 of them, in ingest order, each listing its rows\' hashes', async (t) => {
  const db = openDatabase(join(tempDir(t), 'h.db'))
  t.teardown(() => db.close())
  const a = await signer()
  insertEntries(db, Array.from({ length: maxChunkEntries + 44 }, (_, i) => entry({ cmd: `c ${i}` })))
  t.is(signPending(db, a), 300)
  const chunks = db.prepare('SELECT id, origin, sig, hashes FROM chunks ORDER BY id').all() as Array<Chunk & { id: number }>
  t.deepEqual(chunks.map((c) => c.hashes.length / 32), [256, 44])
  t.true(chunks.every((c) => c.origin === a.origin && verifyChunk(c)))
  const rows = db.prepare('SELECT ingest_seq, entry_id, device_id, user_id, ts, cmd, cwd, exit_code, duration_ms, shell, hostname, version, chunk, sig, trust FROM entries ORDER BY ingest_seq').all() as Array<Record<string, unknown>>
  rows.forEach((row, i) => {
    const chunk = chunks[i < 256 ? 0 : 1]!
    t.is(row.chunk, chunk.id)
    t.is(row.trust, trust.verified)
    t.is(typeof row.sig, 'string', 'the per-entry signature is kept for 2.0.0 peers')
    const { chunk: _c, sig: _s, trust: _t, ...content } = row
    t.deepEqual(entryHash(stripSeq(content as never), a.origin), chunk.hashes.subarray(32 * (i % 256), 32 * (i % 256) + 32))
  })
  // Known: stored with the same origin, signature and hashes; the same signature with other hashes is not.
  const [first] = chunks
  t.deepEqual(knownChunks(db, [first!, { ...first!, hashes: Buffer.alloc(first!.hashes.length) }, { ...first!, origin: (await signer()).origin }]), [true, false, false])
})

test('a received chunk is stored once per (origin, sig), and only when an entry of the batch names it', async (t) => {
  const db = openDatabase(join(tempDir(t), 'h.db'))
  t.teardown(() => db.close())
  const a = await signer()
  const e1 = { ...entry({ cmd: 'one' }), origin: a.origin, chunk_ref: 0 }
  const e2 = { ...entry({ cmd: 'two' }), origin: a.origin, chunk_ref: 0 }
  const chunk: Chunk = { origin: a.origin, sig: Buffer.alloc(64, 1), hashes: Buffer.alloc(64, 2) }
  const unused: Chunk = { origin: a.origin, sig: Buffer.alloc(64, 3), hashes: Buffer.alloc(32, 4) }
  insertEntries(db, [e1], 'received', [chunk, unused])
  insertEntries(db, [e2], 'received', [chunk])
  const chunks = db.prepare('SELECT id, sig FROM chunks').all() as Array<{ id: number, sig: Buffer }>
  t.is(chunks.length, 1)
  t.deepEqual(db.prepare('SELECT cmd, origin, sig, chunk, trust FROM entries ORDER BY ingest_seq').all(), [
    { cmd: 'one', origin: a.origin, sig: null, chunk: chunks[0]!.id, trust: 1 },
    { cmd: 'two', origin: a.origin, sig: null, chunk: chunks[0]!.id, trust: 1 }
  ])
})
