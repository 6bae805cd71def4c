/**
 * Where each row is in its manifest (entries.chunk_pos, schema 14) and how a 4.0.0 server uses it: rows with a place
 * go by runs, without their hashes; rows without one (linked before schema 14, by an older release, or taken
 * first-hand by `k`) by `k` with the whole manifest, until placeChunkRows gives them their place. Pages go through
 * the functions the serving and ingest workers run (exportBatch, ingestPulled), in process, on real database files.
 */
import test from 'ava'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { hashBytes } from '../../src/core/chunk.js'
import type { EntrySigner } from '../../src/core/signature.js'
import { openDatabase } from '../../src/store/db.js'
import { insertEntries, placeChunkRows, signPending } from '../../src/store/entries.js'
import { closeWorkerDb } from '../../workers/db-cache.js'
import { exportBatch } from '../../workers/export-batch.js'
import { ingestPulled } from '../../workers/ingest.js'
import { tempDir } from '../helpers/tmp.js'
import { entry } from './fixtures.js'

async function signer (): Promise<EntrySigner> {
  const key = await generateKeyPair('Ed25519')
  return { origin: peerIdFromPrivateKey(key).toString(), secretKey: key.raw }
}

interface Page { entries: Array<Record<string, unknown>>, chunks: Array<{ id: number, n?: number, runs?: number[][], hashes: string }> }

function page (path: string, wire: 3 | 4): { payload: Uint8Array, json: Page } {
  const { payload } = exportBatch({ tag: 'export-batch', dbPath: path, cursor: 0, limit: 1000, maxBytes: 1 << 24, wire })
  closeWorkerDb(path)
  return { payload, json: JSON.parse(Buffer.from(payload).toString()) as Page }
}

const places = (path: string): Array<number | null> => {
  const db = new Database(path, { readonly: true })
  try {
    return db.prepare('SELECT chunk_pos FROM entries ORDER BY ingest_seq').pluck().all() as Array<number | null>
  } finally {
    db.close()
  }
}

test('4.0.0 export: runs for placed rows, k for the rest; placeChunkRows places them in the background; a row its manifest does not list stays by k', async (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'a.db')
  const a = await signer()
  const db = openDatabase(path)
  insertEntries(db, Array.from({ length: 3 }, (_, i) => entry({ cmd: `first ${i}` })))
  signPending(db, a)
  insertEntries(db, Array.from({ length: 2 }, (_, i) => entry({ cmd: `then ${i}` })))
  signPending(db, a)
  t.deepEqual(places(path), [0, 1, 2, 3, 4], 'signed in two calls into one growing manifest: places follow on')

  const whole = page(path, 4).json
  t.deepEqual(whole.chunks.map((c) => [c.n, c.runs, c.hashes]), [[5, [[0, 0, 5]], '']])
  t.true(whole.entries.every((e) => e.k === undefined && e.sig === undefined && e.origin === undefined))
  // Served by the device that signed them (its PeerId is their origin): by k, the manifest whole, as on 3.0.0.
  const { payload: own } = exportBatch({ tag: 'export-batch', dbPath: path, cursor: 0, limit: 1000, maxBytes: 1 << 24, wire: 4, signer: a })
  closeWorkerDb(path)
  const ownPage = JSON.parse(Buffer.from(own).toString()) as Page
  t.true(ownPage.entries.every((e) => typeof e.k === 'number'))
  t.deepEqual(ownPage.chunks.map((c) => [c.n, c.runs, Buffer.from(c.hashes, 'base64').length]), [[undefined, undefined, 5 * hashBytes]])
  const v3 = page(path, 3).json
  t.true(v3.entries.every((e) => typeof e.k === 'number'))
  t.is(Buffer.from(v3.chunks[0]!.hashes, 'base64').length, 5 * hashBytes)
  const hashes = Buffer.from(v3.chunks[0]!.hashes, 'base64')

  // As a 3.0.0 release (or a first-hand pull by k) leaves them: rows 2 and 4 with no place; row 1 claiming row 0's.
  db.prepare('UPDATE entries SET chunk_pos = NULL WHERE chunk_pos IN (2, 4)').run()
  db.prepare('UPDATE entries SET chunk_pos = 0 WHERE chunk_pos = 1').run()
  const mixed = page(path, 4).json
  t.deepEqual(mixed.entries.map((e) => e.k === undefined), [true, false, false, true, false])
  t.deepEqual(mixed.chunks[0]!.runs, [[0, 0, 1], [3, 3, 1]])
  t.deepEqual(Buffer.from(mixed.chunks[0]!.hashes, 'base64'), Buffer.concat([1, 2, 4].map((p) => hashes.subarray(p * hashBytes, (p + 1) * hashBytes))))
  // A receiver takes it all, each entry verified against the rebuilt manifest.
  const receiver = join(dir, 'b.db')
  openDatabase(receiver).close()
  const got = await ingestPulled({ tag: 'ingest-pulled', dbPath: receiver, peerId: (await signer()).origin, payload: page(path, 4).payload, wire: 4 })
  closeWorkerDb(receiver)
  t.deepEqual([got.inserted, got.rejected], [5, []])
  t.deepEqual(places(receiver), [0, 1, 2, 3, 4], 'relayed entries hashed: every place known')

  // placeChunkRows: two rows per call, each call going on from where the last got to, then nothing left; a row its
  // manifest does not list gets -1.
  db.prepare('UPDATE entries SET chunk_pos = NULL').run()
  const linkToChunk = (id: string): void => { db.prepare('UPDATE entries SET chunk = (SELECT id FROM chunks), origin = \'\', trust = 1 WHERE entry_id = ?').run(id) }
  const stranger = entry({ cmd: 'not in the manifest' })
  insertEntries(db, [stranger])
  linkToChunk(stranger.entry_id)
  let at = 0
  const steps: number[] = []
  for (let step = placeChunkRows(db, 2, at); step.upTo > at; step = placeChunkRows(db, 2, at)) {
    steps.push(step.placed)
    at = step.upTo
  }
  t.deepEqual(steps, [2, 2, 2])
  t.deepEqual(placeChunkRows(db, 2, at), { placed: 0, upTo: at }, 'nothing past the newest row')
  t.deepEqual(places(path), [0, 1, 2, 3, 4, -1])
  const placed = page(path, 4).json
  t.deepEqual(placed.chunks[0]!.runs, [[0, 0, 5]])
  t.deepEqual(placed.entries.map((e) => e.k === undefined), [true, true, true, true, true, false], 'the row its manifest does not list goes by k')
  // Rows stored later are found from there; a call walks at most 16 rows per row it may place, so 40 rows with no
  // chunk before the next linked one take three calls of one, the first two placing nothing.
  insertEntries(db, Array.from({ length: 40 }, (_, i) => entry({ cmd: `unlinked ${i}` })))
  const late = entry({ cmd: 'late' })
  insertEntries(db, [late])
  linkToChunk(late.entry_id)
  const walked: Array<[number, number]> = []
  for (let step = placeChunkRows(db, 1, at); step.upTo > at; step = placeChunkRows(db, 1, at)) {
    walked.push([step.placed, step.upTo - at])
    at = step.upTo
  }
  t.deepEqual(walked, [[0, 16], [0, 16], [1, 9]])
  t.deepEqual(places(path).filter((p) => p !== null), [0, 1, 2, 3, 4, -1, -1])
  db.close()
})
