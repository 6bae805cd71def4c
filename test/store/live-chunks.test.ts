/**
 * A history signed while it is recorded (a daemon's sign-ahead signs one or two new entries every few seconds) and
 * pulled as it grows, then pulled onward from the device that pulled it: every device ends with one manifest per 256
 * entries, as if the history had been signed at once, and every row is verified. Pages go through the functions the
 * serving and ingest workers run (exportBatch, ingestPulled), in process, on real database files.
 */
import test from 'ava'
import { randomUUID } from 'node:crypto'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { maxChunkEntries, verifyChunk, type Chunk } from '../../src/core/chunk.js'
import type { EntrySigner } from '../../src/core/signature.js'
import { openDatabase } from '../../src/store/db.js'
import { insertEntries, signPending } from '../../src/store/entries.js'
import { closeWorkerDb } from '../../workers/db-cache.js'
import { exportBatch } from '../../workers/export-batch.js'
import { ingestPulled } from '../../workers/ingest.js'
import { tempDir } from '../helpers/tmp.js'
import { entry } from './fixtures.js'
import { rowOriginSql } from '../../src/store/wire-id.js'

async function signer (): Promise<EntrySigner> {
  const key = await generateKeyPair('Ed25519')
  return { origin: peerIdFromPrivateKey(key).toString(), secretKey: key.raw }
}

/** Pulls everything after `cursor` from `from` (served as by a device whose PeerId is `peerId`) into `to`. */
async function pull (from: string, to: string, peerId: string, cursor: number): Promise<number> {
  for (;;) {
    const page = exportBatch({ tag: 'export-batch', dbPath: from, cursor, limit: 1000, maxBytes: 1 << 24, wire: 3 })
    if (page.count === 0) return cursor
    const got = await ingestPulled({ tag: 'ingest-pulled', dbPath: to, peerId, payload: page.payload.slice(), wire: 3 })
    if (got.rejected.length > 0) throw new Error(got.rejected[0]!.reason)
    cursor = got.nextCursor!
  }
}

test('a history signed 2 entries at a time and pulled as it grows is one manifest per 256 entries on the signer, on the device that pulled it live, and on one that pulls from that device', async (t) => {
  const dir = tempDir(t)
  const [a, b, c] = ['a', 'b', 'c'].map((d) => join(dir, `${d}.db`)) as [string, string, string]
  const signerA = await signer()
  const peerB = (await signer()).origin
  const dbA = openDatabase(a)
  t.teardown(() => { dbA.close(); for (const p of [a, b, c]) closeWorkerDb(p) })
  const total = 600
  let cursor = 0
  for (let made = 0; made < total; made += 2) {
    insertEntries(dbA, [0, 1].map((i) => entry({ entry_id: randomUUID(), cmd: `live ${made + i}` })))
    signPending(dbA, signerA)
    cursor = await pull(a, b, signerA.origin, cursor)
  }
  await pull(b, c, peerB, 0)
  const expected = [maxChunkEntries, maxChunkEntries, total - 2 * maxChunkEntries]
  for (const [name, path] of [['a', a], ['b', b], ['c', c]] as const) {
    const db = openDatabase(path, { readonly: true })
    try {
      const chunks = db.prepare('SELECT id, origin, sig, hashes FROM chunks ORDER BY id').all() as Array<Chunk & { id: number }>
      t.deepEqual(chunks.map((k) => k.hashes.length / 32), expected, `${name}: manifests and their sizes`)
      t.true(chunks.every((k) => k.origin === signerA.origin && verifyChunk(k)), `${name}: every manifest is A's and verifies`)
      t.is(db.prepare(`SELECT COUNT(*) FROM entries WHERE trust = 1 AND ${rowOriginSql()} = ? AND chunk IS NOT NULL`).pluck().get(signerA.origin), total, `${name}: every row verified under A's manifests`)
    } finally {
      db.close()
    }
  }
})
