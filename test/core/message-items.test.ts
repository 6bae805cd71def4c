/**
 * A message's items are counted on its bytes before it is parsed (decodeJson): a 16 MiB message of junk items took
 * a receiver to gigabytes. The count must be exact for valid documents, strings and nesting included.
 */
import test from 'ava'
import { maxItemsPerMessage } from '../../src/protocol/constants.js'
import { checkItemCount, commaCount, decodeJson, maxMessageDepth, parseEntriesPush, punctuation, topLevelItems } from '../../src/protocol/messages.js'
import { ProtocolError } from '../../src/protocol/errors.js'
import { maxListedRefusals, unlistedRefusal, validateBatch } from '../../src/core/entry.js'
import { validateTombstones } from '../../src/core/tombstone.js'

const count = (doc: unknown): number => topLevelItems(Buffer.from(JSON.stringify(doc)))

test('items of the top-level arrays are counted exactly, whatever strings and nested values hold', (t) => {
  t.is(count([]), 0)
  t.is(count([0, 0, 0]), 3)
  t.is(count({ entries: [] }), 0)
  t.is(count({ entries: [{ a: 1, b: [1, 2, 3], c: { d: [4, 5] } }, { cmd: 'echo "a,b" [x, y] {z}' }], chunks: [{ hashes: 'x' }], next_cursor: 2 }), 3)
  t.is(count({ entries: ['a\\",b', 'c\\\\', ',', '[', ']'] }), 5)
  t.is(count({ next_cursor: null, entries: [[1, 2], [3]] }), 2)
  t.is(topLevelItems(Buffer.from(' { "entries" : [ 1 , 2 ] } ')), 2)
})

test('a document of more items than any message holds is refused before it is parsed; checkItemCount refuses the rest', (t) => {
  // Dense in commas (as junk items are) and over 1 MiB: counted on the bytes, refused unparsed.
  const junk = Buffer.from(`{"entries":[${'0,'.repeat(3 * maxItemsPerMessage)}0]}`)
  t.true(junk.byteLength > 1024 * 1024)
  t.throws(() => decodeJson(junk, 'EntriesPush'), { instanceOf: ProtocolError, message: /^EntriesPush: about 600001 items, more than any message holds/ })
  // Sparse in commas: parsed, and checkItemCount (in every message parser) refuses it.
  const sparse = Buffer.from(`{"entries":[${'1000000,'.repeat(2 * maxItemsPerMessage + 5)}0]}`)
  t.throws(() => parseEntriesPush(decodeJson(sparse, 'EntriesPush')), { message: /^EntriesPush: 400006 entries, more than any message holds/ })
  const fits = Buffer.from(`{"entries":[${'0,'.repeat(maxItemsPerMessage - 1)}0]}`)
  t.is((decodeJson(fits, 'EntriesPush') as { entries: unknown[] }).entries.length, maxItemsPerMessage)
  t.notThrows(() => checkItemCount(new Array(maxItemsPerMessage).fill(0), 'EntriesPush', 'entries'))
  t.throws(() => checkItemCount(new Array(maxItemsPerMessage + 1).fill(0), 'EntriesPush', 'entries'), { message: 'EntriesPush: 200001 entries, more than any message holds (at most 200000)' })
})

test('a batch of many invalid items describes the first 1000 refusals and counts the rest, keeping every valid item', (t) => {
  const valid = { entry_id: '0b6f7c9e-2f4a-4d1e-9c3b-5a6d7e8f9a0b', device_id: 'd', user_id: 'u', ts: '2026-01-01T00:00:00.000Z', cmd: 'echo ok', cwd: '/', exit_code: 0, duration_ms: 1, shell: 'bash', hostname: 'h', version: '0.1.0' }
  const raw: unknown[] = Array.from({ length: 5000 }, () => 0)
  raw[3000] = valid
  const batch = validateBatch(raw)
  t.deepEqual(batch.indexes, [3000])
  t.is(batch.valid[0]?.cmd, 'echo ok')
  t.is(batch.rejected.length, 4999)
  t.deepEqual(batch.rejected.slice(0, 2).map((r) => r.index), [0, 1])
  t.is(new Set(batch.rejected.slice(maxListedRefusals)).size, 1, 'past the first 1000, one shared refusal')
  t.is(batch.rejected[maxListedRefusals], unlistedRefusal)
  const tombstones = validateTombstones(Array.from({ length: 3000 }, () => ({})))
  t.is(tombstones.rejected.length, 3000)
  t.is(new Set(tombstones.rejected).size, maxListedRefusals + 1)
})

test('commaCount counts every comma at any alignment, and never fewer than there are', (t) => {
  const text = 'a,b,,c",",[1,2],' + ',x'.repeat(1000) + 'tail,'
  const exact = [...text].filter((c) => c === ',').length
  const bytes = Buffer.from(`....${text}`)
  for (let offset = 0; offset < 4; offset++) {
    const view = bytes.subarray(offset + (4 - offset), bytes.length - offset)
    const expected = [...view.toString()].filter((c) => c === ',').length
    t.true(commaCount(view) >= expected, `offset ${offset}`)
    t.true(commaCount(view) <= expected + 4, `offset ${offset}`)
  }
  t.is(commaCount(Buffer.from(text)), exact)
  t.is(commaCount(Buffer.from(',,,,,,,,,')), 9)
  t.is(commaCount(new Uint8Array(0)), 0)
})

test('a document nested deeper than any message is refused before it is parsed, a real batch is not', (t) => {
  t.is(topLevelItems(Buffer.from('{"entries":[[[1]]]}'), 3), -1)
  t.is(topLevelItems(Buffer.from('{"entries":[[[1]]]}'), 4), 1)
  t.is(topLevelItems(Buffer.from('{"entries":[{"cmd":"[[[[[[[[[[{{{{{{{{"}]}'), 3), 1, 'brackets in strings are not nesting')
  const deep = Buffer.from(`{"entries":[${'['.repeat(200_000)}${']'.repeat(200_000)}]}`)
  t.throws(() => decodeJson(deep, 'EntriesPush'), { instanceOf: ProtocolError, message: `EntriesPush: nested deeper than ${maxMessageDepth} levels, more than any message holds` })
  const objects = Buffer.from(`{"entries":[${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}]}`)
  t.throws(() => decodeJson(objects, 'SyncBatch'), { message: /^SyncBatch: nested deeper than 8 levels/ })
  // Sparse in commas but dense in brackets: scanned, counted, refused.
  const padded = Buffer.from(`{"entries":[${'{}      ,'.repeat(3 * maxItemsPerMessage)}{}]}`)
  t.throws(() => decodeJson(padded, 'EntriesPush'), { message: /^EntriesPush: about 600001 items, more than any message holds/ })
  // A batch as a server sends it (an entry is one object of scalars, ~300 bytes) is parsed whole.
  const entry = { entry_id: '00000000-0000-4000-8000-000000000000', device_id: 'laptop', user_id: 'u', ts: '2026-01-01T00:00:00.000Z', cmd: 'git commit -m "[wip] {x}, y" && make test', cwd: '/home/u/project', exit_code: 0, duration_ms: 12, shell: 'zsh', hostname: 'laptop', version: '0.1.0', k: 1 }
  const batch = Buffer.from(JSON.stringify({ chunks: [{ id: 1, origin: 'o', sig: 's', hashes: 'h' }], entries: new Array(5000).fill(entry), next_cursor: 5000 }))
  t.true(batch.byteLength > 64 * 1024)
  t.is((decodeJson(batch, 'SyncBatch') as { entries: unknown[] }).entries.length, 5000)
})

test('punctuation counts commas and opening brackets at any alignment, never fewer than there are', (t) => {
  const text = '[{a,b},{"[":1}]' + '{,'.repeat(500) + '[x]'
  const exact = { commas: [...text].filter((c) => c === ',').length, opens: [...text].filter((c) => c === '[' || c === '{').length }
  t.deepEqual(punctuation(Buffer.from(text)), exact)
  const bytes = Buffer.from(`....${text}....`)
  for (let offset = 0; offset < 4; offset++) {
    const view = bytes.subarray(4 + offset, bytes.length - 4)
    const counted = punctuation(view)
    const want = { commas: [...view.toString()].filter((c) => c === ',').length, opens: [...view.toString()].filter((c) => c === '[' || c === '{').length }
    t.true(counted.commas >= want.commas && counted.commas <= want.commas + 4, `offset ${offset}`)
    t.true(counted.opens >= want.opens && counted.opens <= want.opens + 4, `offset ${offset}`)
  }
  t.deepEqual(punctuation(Buffer.from('{[;{[ [{')), { commas: 0, opens: 6 }, '; is 0x3b: not an opening bracket')
})
