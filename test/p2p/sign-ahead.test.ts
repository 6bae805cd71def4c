import test from 'ava'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Entry } from '../../src/core/entry.js'
import { verifyEntry, type EntrySigner } from '../../src/core/signature.js'
import { startSignAhead } from '../../src/p2p/sign-ahead.js'
import { openDatabase } from '../../src/store/db.js'
import { insertEntries, signPending, trust } from '../../src/store/entries.js'
import { closeWorkerDb } from '../../workers/db-cache.js'
import { ingestPulled } from '../../workers/ingest.js'
import { WorkerPool } from '../../workers/pool.js'
import { tempDir } from '../helpers/tmp.js'
import { exportedPages } from '../helpers/wire.js'
import { entry } from '../store/fixtures.js'
import { rowOriginSql } from '../../src/store/wire-id.js'

async function signer (): Promise<EntrySigner> {
  const key = await generateKeyPair('Ed25519')
  return { origin: peerIdFromPrivateKey(key).toString(), secretKey: key.raw }
}

async function until (what: string, done: () => boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

test('a serving device signs its unsigned entries ahead of any pull, in chunks, and again when new ones appear', async (t) => {
  const dbPath = join(tempDir(t), 'h.db')
  const db = openDatabase(dbPath)
  t.teardown(() => db.close())
  insertEntries(db, Array.from({ length: 250 }, (_, i) => entry({ cmd: `make ${i}` })))
  const pending = (): number => db.prepare(`SELECT COUNT(*) FROM entries WHERE trust = ${trust.localUnsigned}`).pluck().get() as number
  t.is(pending(), 250)
  const pool = new WorkerPool()
  t.teardown(async () => await pool.close())
  const me = await signer()
  const lines: string[] = []
  const stop = startSignAhead({ dbPath, pool, signer: me, intervalMs: 50, chunkRows: 100, log: (line) => lines.push(line) })
  t.teardown(stop)
  await until('the first 250 to be signed', () => pending() === 0)
  insertEntries(db, [entry({ cmd: 'recorded later' })])
  await until('the later one to be signed', () => pending() === 0)
  const rows = db.prepare(`SELECT entry_id, device_id, user_id, ts, cmd, cwd, exit_code, duration_ms, shell, hostname, version, ${rowOriginSql()} AS origin, sig, trust FROM entries`).all() as Array<Entry & { trust: number }>
  t.is(rows.length, 251)
  t.true(rows.every((r) => r.trust === trust.verified && r.origin === me.origin))
  t.true(rows.every((r) => { const { trust: _t, ...e } = r; return verifyEntry(e) }), 'each is signed by this device\'s key over its content')
  t.deepEqual(lines, [])
})

test('rows taken first-hand by k, without their place in the manifest, get it in the background, those of later pulls too', async (t) => {
  const dir = tempDir(t)
  // Device A's history, signed by A; A serves its own entries by `k` under their whole manifest.
  const aPath = join(dir, 'a.db')
  const a = await signer()
  const aDb = openDatabase(aPath)
  insertEntries(aDb, Array.from({ length: 300 }, (_, i) => entry({ cmd: `make ${i}` })))
  signPending(aDb, a)
  const aPlaces = new Map(aDb.prepare('SELECT entry_id, chunk_pos FROM entries').raw().all() as Array<[string, number]>)
  aDb.close()
  const pages = exportedPages(aPath, 150, 4, a)
  t.is(pages.length, 2)
  t.false(Buffer.from(pages[0]!).toString('utf8').includes('"runs"'), 'A\'s own entries go by k')

  const bPath = join(dir, 'b.db')
  const db = openDatabase(bPath)
  t.teardown(() => db.close())
  const pool = new WorkerPool()
  t.teardown(async () => await pool.close())
  const stop = startSignAhead({ dbPath: bPath, pool, signer: await signer(), intervalMs: 50, chunkRows: 100 })
  t.teardown(stop)
  const places = (): Array<[string, number | null]> => db.prepare('SELECT entry_id, chunk_pos FROM entries ORDER BY ingest_seq').raw().all() as Array<[string, number | null]>
  for (const [n, page] of pages.entries()) {
    const got = await ingestPulled({ tag: 'ingest-pulled', dbPath: bPath, peerId: a.origin, payload: page, wire: 4 })
    t.deepEqual([got.inserted, got.rejected], [150, []])
    await until(`the rows of pull ${n + 1} to be placed`, () => places().every(([, at]) => at != null))
  }
  closeWorkerDb(bPath)
  t.is(places().length, 300)
  t.true(places().every(([id, at]) => at === aPlaces.get(id)), 'each at the place A signed it at')
})
