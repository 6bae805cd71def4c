/**
 * A manifest sent whole by its own origin, over the connection that origin's key authenticated, is taken without its
 * signature checked (as that peer's own signed entries are), and the next hop checks it. The same manifest from any
 * other peer is checked. Pages go through the functions the serving and ingest workers run (exportBatch,
 * ingestPulled), in process, on real database files.
 */
import test from 'ava'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { EntrySigner } from '../../src/core/signature.js'
import { openDatabase } from '../../src/store/db.js'
import { insertEntries, signPending } from '../../src/store/entries.js'
import { closeWorkerDb } from '../../workers/db-cache.js'
import { exportBatch } from '../../workers/export-batch.js'
import { ingestPulled } from '../../workers/ingest.js'
import { tempDir } from '../helpers/tmp.js'
import { entry } from './fixtures.js'

async function signer (): Promise<EntrySigner> {
  const key = await generateKeyPair('Ed25519')
  return { origin: peerIdFromPrivateKey(key).toString(), secretKey: key.raw }
}

/** The one page `path` serves on 4.0.0, served by the device whose key is `by`. */
function servedBy (path: string, by: EntrySigner): string {
  const { payload } = exportBatch({ tag: 'export-batch', dbPath: path, cursor: 0, limit: 1000, maxBytes: 1 << 24, wire: 4, signer: by })
  closeWorkerDb(path)
  return Buffer.from(payload).toString()
}

async function ingest (path: string, from: string, page: string): Promise<{ inserted: number, reasons: string[] }> {
  openDatabase(path).close()
  const got = await ingestPulled({ tag: 'ingest-pulled', dbPath: path, peerId: from, payload: new TextEncoder().encode(page), wire: 4 })
  closeWorkerDb(path)
  return { inserted: got.inserted, reasons: got.rejected.map((r) => r.reason) }
}

const trusts = (path: string): number[] => {
  const db = new Database(path, { readonly: true })
  try {
    return db.prepare('SELECT trust FROM entries ORDER BY ingest_seq').pluck().all() as number[]
  } finally {
    db.close()
  }
}

test('a manifest with a bad signature is taken from its own origin, first-hand, and refused by every other receiver, the next hop included', async (t) => {
  const dir = tempDir(t)
  const a = await signer()
  const b = await signer()
  const aPath = join(dir, 'a.db')
  const aDb = openDatabase(aPath)
  insertEntries(aDb, Array.from({ length: 5 }, (_, i) => entry({ cmd: `make ${i}` })))
  signPending(aDb, a)
  aDb.close()
  // A serves its own entries by k, under the whole manifest; its signature is then spoilt (one byte changed).
  const genuine = JSON.parse(servedBy(aPath, a)) as { chunks: Array<{ sig: string, runs?: unknown }>, entries: Array<{ k?: number }> }
  t.true(genuine.entries.every((e) => e.k !== undefined) && genuine.chunks[0]!.runs === undefined, 'A\'s own entries go by k')
  const sig = Buffer.from(genuine.chunks[0]!.sig, 'base64')
  sig[10]! ^= 1
  const spoilt = JSON.stringify({ ...genuine, chunks: [{ ...genuine.chunks[0]!, sig: sig.toString('base64') }] })

  // From A itself: taken, as A's, verified by the connection.
  const bPath = join(dir, 'b.db')
  t.deepEqual(await ingest(bPath, a.origin, spoilt), { inserted: 5, reasons: [] })
  t.deepEqual(trusts(bPath), [1, 1, 1, 1, 1])
  // The same page relayed by B: every entry refused.
  const relayed = await ingest(join(dir, 'c1.db'), b.origin, spoilt)
  t.is(relayed.inserted, 0)
  t.is(relayed.reasons.length, 5)
  t.true(relayed.reasons.every((r) => /chunk 0 signature does not verify against origin/.test(r)))
  // B serves what it took onward (A's entries, with A's manifest as A sent it): the next hop checks it and refuses.
  const onward = await ingest(join(dir, 'c2.db'), b.origin, servedBy(bPath, b))
  t.is(onward.inserted, 0)
  t.true(onward.reasons.length === 5 && onward.reasons.every((r) => /signature does not verify against origin/.test(r)))
  // The genuine page is taken from B.
  t.deepEqual(await ingest(join(dir, 'c3.db'), b.origin, servedBy(aPath, a)), { inserted: 5, reasons: [] })
})
