import test from 'ava'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Entry } from '../../src/core/entry.js'
import { verifyEntry, type EntrySigner } from '../../src/core/signature.js'
import { startSignAhead } from '../../src/p2p/sign-ahead.js'
import { openDatabase } from '../../src/store/db.js'
import { insertEntries, trust } from '../../src/store/entries.js'
import { WorkerPool } from '../../workers/pool.js'
import { tempDir } from '../helpers/tmp.js'
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
