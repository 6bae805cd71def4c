import test, { type ExecutionContext } from 'ava'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { entryHash, maxChunkEntries, signHashes, verifyChunk, type Chunk } from '../../src/core/chunk.js'
import type { Entry } from '../../src/core/entry.js'
import type { EntrySigner } from '../../src/core/signature.js'
import { openDatabase, type Database } from '../../src/store/db.js'
import { chunkHeadSql, insertEntries, knownChunks, signPending, stripSeq, trust } from '../../src/store/entries.js'
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

/** Every chunk-linked row is listed (its hash under the chunk's origin) in its chunk, and every chunk verifies. */
function everyRowListed (t: ExecutionContext, db: Database): void {
  const chunks = new Map((db.prepare('SELECT id, origin, sig, hashes FROM chunks').all() as Array<Chunk & { id: number }>).map((c) => [c.id, c]))
  for (const c of chunks.values()) t.true(verifyChunk(c), `chunk ${c.id} verifies against ${c.origin}`)
  const rows = db.prepare('SELECT entry_id, device_id, user_id, ts, cmd, cwd, exit_code, duration_ms, shell, hostname, version, chunk FROM entries WHERE chunk IS NOT NULL').all() as Array<Entry & { chunk: number }>
  for (const { chunk: id, ...content } of rows) {
    const chunk = chunks.get(id)
    t.truthy(chunk, `${content.cmd}: its chunk ${id} is stored`)
    const hash = entryHash(content, chunk!.origin)
    let listed = false
    for (let p = 0; p < chunk!.hashes.length; p += 32) if (chunk!.hashes.subarray(p, p + 32).equals(hash)) listed = true
    t.true(listed, `${content.cmd} is listed in its chunk ${id}`)
  }
}

test('signing a few entries at a time grows the newest manifest in place (same id, signed again) up to 256, then starts the next', async (t) => {
  const db = openDatabase(join(tempDir(t), 'h.db'))
  t.teardown(() => db.close())
  const a = await signer()
  let made = 0
  const ids = new Set<number>()
  for (const n of [1, 2, 3, 250, 7, 37]) {
    insertEntries(db, Array.from({ length: n }, () => entry({ cmd: `c ${made++}` })))
    t.is(signPending(db, a), n)
    for (const id of db.prepare('SELECT id FROM chunks').pluck().all() as number[]) ids.add(id)
  }
  const chunks = db.prepare('SELECT id, hashes FROM chunks ORDER BY id').all() as Array<{ id: number, hashes: Buffer }>
  t.deepEqual(chunks.map((c) => c.hashes.length / 32), [256, 44], 'as if all 300 were signed at once')
  t.is(ids.size, 2, 'grown in place: no other chunk id was ever made')
  t.deepEqual(db.prepare('SELECT chunk, COUNT(*) AS n FROM entries GROUP BY chunk ORDER BY chunk').all(), [{ chunk: chunks[0]!.id, n: 256 }, { chunk: chunks[1]!.id, n: 44 }])
  everyRowListed(t, db)
})

/** Entries signed by `a` in one manifest over all of them; a receiver's copies name it (chunk_ref 0). */
function signedRun (a: EntrySigner, entries: Entry[], upTo = entries.length): { chunk: Chunk, rows: Array<Entry & { origin: string, chunk_ref: number }> } {
  const chunk = signHashes(Buffer.concat(entries.slice(0, upTo).map((e) => entryHash(e, a.origin))), a)
  return { chunk, rows: entries.map((e) => ({ ...e, origin: a.origin, chunk_ref: 0 })) }
}

test('a receiver keeps only the longest manifest of a run an origin grew: the shorter is replaced in place, or its rows link to the longer', async (t) => {
  const dir = tempDir(t)
  const db = openDatabase(join(dir, 'h.db'))
  t.teardown(() => db.close())
  const a = await signer()
  const e = Array.from({ length: 5 }, (_, i) => entry({ cmd: `grown ${i}` }))
  const two = signedRun(a, e, 2)
  const four = signedRun(a, e, 4)
  const five = signedRun(a, e, 5)
  insertEntries(db, two.rows.slice(0, 2), 'received', [two.chunk])
  const [first] = db.prepare('SELECT id FROM chunks').pluck().all() as number[]
  // Each longer manifest arrives with the next entries: it takes the shorter one's place, under the same id.
  insertEntries(db, four.rows.slice(2, 4), 'received', [four.chunk])
  t.deepEqual(db.prepare('SELECT id, sig, hashes FROM chunks').all(), [{ id: first, sig: four.chunk.sig, hashes: four.chunk.hashes }])
  insertEntries(db, five.rows.slice(4, 5), 'received', [five.chunk])
  t.deepEqual(db.prepare('SELECT id, sig FROM chunks').all(), [{ id: first, sig: five.chunk.sig }])
  t.deepEqual(db.prepare('SELECT cmd, chunk, trust FROM entries ORDER BY ingest_seq').all(), e.map((x) => ({ cmd: x.cmd, chunk: first, trust: 1 })))
  everyRowListed(t, db)

  // The other way round: the longest first, then a peer that still has a shorter one. Its rows link to the longest.
  const other = openDatabase(join(dir, 'other.db'))
  t.teardown(() => other.close())
  insertEntries(other, five.rows.slice(3, 5), 'received', [five.chunk])
  insertEntries(other, two.rows.slice(0, 2), 'received', [two.chunk])
  const held = other.prepare('SELECT id, sig FROM chunks').all() as Array<{ id: number, sig: Buffer }>
  t.deepEqual(held.map((c) => c.sig), [five.chunk.sig])
  t.deepEqual(other.prepare('SELECT DISTINCT chunk FROM entries').pluck().all(), [held[0]!.id])
  everyRowListed(t, other)
})

test('a manifest that only shares a first hash, or that another key signed over the same hashes, is stored beside and replaces nothing', async (t) => {
  const db = openDatabase(join(tempDir(t), 'h.db'))
  t.teardown(() => db.close())
  const a = await signer()
  const b = await signer()
  const e = Array.from({ length: 3 }, (_, i) => entry({ cmd: `kept ${i}` }))
  const two = signedRun(a, e, 2)
  insertEntries(db, two.rows.slice(0, 2), 'received', [two.chunk])
  // a's own manifest of e0 and e2: the same first hash, then not a prefix (it lacks e1).
  const skipping = signHashes(Buffer.concat([entryHash(e[0]!, a.origin), entryHash(e[2]!, a.origin)]), a)
  insertEntries(db, [{ ...e[2]!, origin: a.origin, chunk_ref: 0 }], 'received', [skipping])
  // b signs a's two hashes and one more of its own: the same bytes as a's run, grown, under another key.
  const other = entry({ cmd: 'b own' })
  const posing = signHashes(Buffer.concat([two.chunk.hashes, entryHash(other, b.origin)]), b)
  insertEntries(db, [{ ...other, origin: b.origin, chunk_ref: 0 }], 'received', [posing])
  const chunks = db.prepare('SELECT origin, sig FROM chunks ORDER BY id').all()
  t.deepEqual(chunks, [{ origin: a.origin, sig: two.chunk.sig }, { origin: a.origin, sig: skipping.sig }, { origin: b.origin, sig: posing.sig }])
  everyRowListed(t, db)
})

test('schema 12: the stored manifest a grown one extends is found through the index chunks_head, not by reading every manifest of the origin', (t) => {
  const db = openDatabase(join(tempDir(t), 'h.db'))
  t.teardown(() => db.close())
  const plan = db.prepare(`EXPLAIN QUERY PLAN ${chunkHeadSql}`).all('o', Buffer.alloc(32)) as Array<{ detail: string }>
  t.regex(plan.map((p) => p.detail).join('; '), /USING INDEX chunks_head \(origin=\? AND <expr>=\?\)/)
})
