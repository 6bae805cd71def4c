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
import { rowOriginSql } from '../../src/store/wire-id.js'
import { exportPush } from '../../workers/export-batch.js'
import { closeWorkerDb } from '../../workers/db-cache.js'

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
  const rows = db.prepare('SELECT ingest_seq, entry_id, device_id, user_id, ts, cmd, cwd, exit_code, duration_ms, shell, hostname, version, chunk, sig, trust, origin FROM entries ORDER BY ingest_seq').all() as Array<Record<string, unknown>>
  rows.forEach((row, i) => {
    const chunk = chunks[i < 256 ? 0 : 1]!
    t.is(row.chunk, chunk.id)
    t.is(row.trust, trust.verified)
    t.is(typeof row.sig, 'string', 'the per-entry signature is kept for 2.0.0 peers')
    t.is(row.origin, a.origin, 'a row with its own signature keeps its origin beside it')
    const { chunk: _c, sig: _s, trust: _t, origin: _o, ...content } = row
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
  t.deepEqual(db.prepare(`SELECT cmd, ${rowOriginSql()} AS origin, sig, chunk, trust FROM entries ORDER BY ingest_seq`).all(), [
    { cmd: 'one', origin: a.origin, sig: null, chunk: chunks[0]!.id, trust: 1 },
    { cmd: 'two', origin: a.origin, sig: null, chunk: chunks[0]!.id, trust: 1 }
  ])
})

test('a row verified against a chunk is stored without its origin and read through its chunk: the same entry again adds nothing, another key\'s copy goes beside it', async (t) => {
  const db = openDatabase(join(tempDir(t), 'h.db'))
  t.teardown(() => db.close())
  const [a, b] = [await signer(), await signer()]
  const batch = Array.from({ length: 20 }, (_, i) => entry({ cmd: `c ${i}` }))
  const chunkA: Chunk = { origin: a.origin, sig: Buffer.alloc(64, 1), hashes: Buffer.alloc(64, 2) }
  const chunkB: Chunk = { origin: b.origin, sig: Buffer.alloc(64, 3), hashes: Buffer.alloc(64, 4) }
  const from = (signer: EntrySigner): Array<Entry & { origin: string, chunk_ref: number }> => batch.map((e) => ({ ...e, origin: signer.origin, chunk_ref: 0 }))
  const raw = (): Array<{ origin: string, via: string }> => db.prepare(`SELECT origin, ${rowOriginSql()} AS via FROM entries ORDER BY ingest_seq`).all() as Array<{ origin: string, via: string }>
  t.is(insertEntries(db, from(a), 'received', [chunkA]).inserted, 20)
  t.deepEqual(raw(), batch.map(() => ({ origin: '', via: a.origin })), 'the PeerId is stored once, on the chunk')
  // Again from A: the first 16 go through placeChunk, the last 4 through placeSigned; both read the row's origin
  // through its chunk, so neither takes the genuine row for another key's.
  t.is(insertEntries(db, from(a), 'received', [chunkA]).inserted, 0)
  t.is(insertEntries(db, from(a).slice(18), 'received', [chunkA]).inserted, 0)
  // From B, the same entry_ids: every one stays A's, and B's copies are rivals beside them.
  t.is(insertEntries(db, from(b), 'received', [chunkB]).inserted, 20)
  const rows = db.prepare(`SELECT COALESCE(rival_of, entry_id) AS id, rival_of IS NOT NULL AS rival, ${rowOriginSql()} AS origin FROM entries ORDER BY ingest_seq`).all() as Array<{ id: string, rival: number, origin: string }>
  t.deepEqual(rows.filter((r) => r.rival === 0).map((r) => r.origin), batch.map(() => a.origin))
  t.deepEqual(rows.filter((r) => r.rival === 1).map((r) => [r.id, r.origin]), batch.map((e) => [e.entry_id, b.origin]))
})

test('a push carries this device\'s own entries only: not another key\'s copy under its device_id, read through the copy\'s chunk', async (t) => {
  const path = join(tempDir(t), 'h.db')
  const db = openDatabase(path)
  t.teardown(() => { closeWorkerDb(path); db.close() })
  const [me, other] = [await signer(), await signer()]
  insertEntries(db, [entry({ device_id: 'me', cmd: 'mine' })])
  signPending(db, me)
  insertEntries(db, [entry({ device_id: 'me', cmd: 'unsigned yet' })])
  // Another key's entries claiming this device_id, verified against that key's manifest: stored with origin ''.
  const forged = { ...entry({ device_id: 'me', cmd: 'not mine' }), origin: other.origin, chunk_ref: 0 }
  insertEntries(db, [forged], 'received', [{ origin: other.origin, sig: Buffer.alloc(64, 5), hashes: Buffer.alloc(32, 6) }])
  t.is(db.prepare("SELECT origin FROM entries WHERE cmd = 'not mine'").pluck().get(), '')
  for (const wire of [2, 3] as const) {
    const page = exportPush({ tag: 'export-push', dbPath: path, deviceId: 'me', afterSeq: 0, limit: 100, maxBytes: 1 << 20, signer: me, wire })
    const pushed = (JSON.parse(Buffer.from(page.payload).toString('utf8')) as { entries: Array<{ cmd: string }> }).entries.map((e) => e.cmd)
    t.deepEqual(pushed, ['mine', 'unsigned yet'], `wire ${wire}`)
  }
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
