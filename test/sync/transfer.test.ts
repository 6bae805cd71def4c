import test from 'ava'
import { MessageTooLargeError, ProtocolError, SyncError, UnsupportedProtocolError } from '../../src/protocol/errors.js'
import {
  afterAck, afterReceived, afterStored, afterTooLarge, beforePush, prefetchCursor, prefetchMatches, startPull, transferFailure,
  type LimitStep, type PageStep, type ParsedBatch, type PullState, type PullStep, type PushAck, type PushPage, type PushState, type PushStep,
  type RoundLimits, type StoredBatch, type TransferFailure
} from '../../src/sync/transfer.js'

const failureTable: Array<[string, unknown, TransferFailure]> = [
  ['an answer over the pull cap is too large', new MessageTooLargeError('SyncBatch', 32 * 1024 * 1024), 'too-large'],
  ['a too-large error that crossed a worker (a plain object with its name) is still too large', { name: 'MessageTooLargeError', message: 'x' }, 'too-large'],
  ['a peer without the protocol is unsupported', new UnsupportedProtocolError('no tombstones'), 'unsupported'],
  ['a protocol violation is something else', new ProtocolError('bad json'), 'other'],
  ['a refused connection is something else', new SyncError('ECONNREFUSED'), 'other'],
  ['a message that merely mentions "too large" is something else (no string matching)', new Error('message too large'), 'other'],
  ['a thrown string is something else', 'boom', 'other'],
  ['null is something else', null, 'other']
]

for (const [name, err, expected] of failureTable) {
  test(`transfer failure: ${name}`, (t) => {
    t.is(transferFailure(err), expected)
  })
}

const limitTable: Array<[string, number, LimitStep]> = [
  ['1000 entries too large: ask for 500', 1000, { kind: 'retry', limit: 500 }],
  ['an odd limit rounds down', 7, { kind: 'retry', limit: 3 }],
  ['2 halves to 1', 2, { kind: 'retry', limit: 1 }],
  ['a single entry too large: nothing smaller can help', 1, { kind: 'give-up' }],
  ['a nonsense limit of 0 gives up too', 0, { kind: 'give-up' }]
]

for (const [name, limit, expected] of limitTable) {
  test(`after too large: ${name}`, (t) => {
    t.deepEqual(afterTooLarge(limit), expected)
  })
}

const limits: RoundLimits = { maxEntries: 10_000, maxBytes: 1_000_000 }
const at = (over: Partial<PullState>): PullState => ({ ...startPull(100, 1000), ...over })

const prefetchTable: Array<[string, PullState, ParsedBatch, number | undefined]> = [
  ['a full batch with a next cursor ahead: prefetch from it', at({}), { received: 1000, nextCursor: 1100 }, 1100],
  ['an empty batch ends the pull: no prefetch', at({}), { received: 0, nextCursor: 100 }, undefined],
  ['a null next cursor ends the pull: no prefetch', at({}), { received: 0, nextCursor: null }, undefined],
  ['a next cursor that does not move forward is never followed', at({}), { received: 5, nextCursor: 100 }, undefined],
  ['a next cursor behind ours is never followed', at({}), { received: 5, nextCursor: 42 }, undefined],
  ['this batch reaches the round\'s entry limit: the next request would be wasted', at({ pulled: 9500 }), { received: 500, nextCursor: 1100 }, undefined],
  ['this batch stays under the entry limit: prefetch', at({ pulled: 8999 }), { received: 1000, nextCursor: 1100 }, 1100],
  ['the bytes received reach the round\'s byte limit: no prefetch', at({ bytes: 1_000_000 }), { received: 1000, nextCursor: 1100 }, undefined],
  ['just under the byte limit: prefetch', at({ bytes: 999_999 }), { received: 1000, nextCursor: 1100 }, 1100]
]

for (const [name, state, batch, expected] of prefetchTable) {
  test(`prefetch: ${name}`, (t) => {
    t.is(prefetchCursor(state, batch, limits), expected)
  })
}

const matchTable: Array<[string, { cursor: number, limit: number }, PullState, boolean]> = [
  ['asked with this cursor and limit: used', { cursor: 100, limit: 1000 }, at({}), true],
  ['asked from another cursor: dropped', { cursor: 50, limit: 1000 }, at({}), false],
  ['asked before the limit was halved: dropped (it would be too large again)', { cursor: 100, limit: 1000 }, at({ limit: 500 }), false]
]

for (const [name, asked, state, expected] of matchTable) {
  test(`prefetched answer: ${name}`, (t) => {
    t.is(prefetchMatches(asked, state), expected)
  })
}

test('received bytes count towards the round, stored or not', (t) => {
  t.deepEqual(afterReceived(at({ bytes: 10 }), 32), at({ bytes: 42 }))
})

const stored = (received: number, nextCursor: number | null, inserted = received): StoredBatch => ({ received, nextCursor, inserted })

// name, state, stored batch, limits, step
const storedTable: Array<[string, PullState, StoredBatch, RoundLimits, PullStep]> = [
  ['a batch moves the cursor to its next_cursor and counts its entries', at({}), stored(1000, 1100, 400), limits,
    { kind: 'next', state: at({ cursor: 1100, pulled: 1000, inserted: 400 }) }],
  ['an empty batch: the pull is done, the cursor stays', at({ pulled: 7 }), stored(0, 100), limits, { kind: 'done', state: at({ pulled: 7 }) }],
  ['entries with a null next_cursor are not stored as a move: done', at({}), stored(0, null), limits, { kind: 'done', state: at({}) }],
  ['a next_cursor equal to ours would re-read forever: stalled', at({}), stored(10, 100), limits, { kind: 'stalled', state: at({}), nextCursor: 100 }],
  ['a next_cursor behind ours: stalled', at({}), stored(10, 3), limits, { kind: 'stalled', state: at({}), nextCursor: 3 }],
  // test/integration/hostile-server.test.ts: a peer that answers every pull with more entries.
  ['a peer that never runs out stops at the round\'s entry limit, cursor saved', at({ pulled: 9000 }), stored(1000, 1100), limits,
    { kind: 'round-limit', state: at({ cursor: 1100, pulled: 10_000, inserted: 1000 }) }],
  ['the round\'s byte limit ends the round too', at({ bytes: 1_000_000 }), stored(10, 110), limits,
    { kind: 'round-limit', state: at({ bytes: 1_000_000, cursor: 110, pulled: 10, inserted: 10 }) }],
  // test/integration/p2p-sync.test.ts (kill -9 mid-pull): the cursor only ever moves to a stored batch's next_cursor.
  ['a batch whose entries were all known moves the cursor and inserts nothing', at({}), stored(1000, 1100, 0), limits,
    { kind: 'next', state: at({ cursor: 1100, pulled: 1000 }) }]
]

for (const [name, state, batch, roundLimits, expected] of storedTable) {
  test(`after a stored batch: ${name}`, (t) => {
    t.deepEqual(afterStored(state, batch, roundLimits), expected)
  })
}

const pageTable: Array<[string, PushPage, PageStep]> = [
  ['a page with entries is sent', { count: 3, lastSeq: 9 }, { kind: 'send' }],
  ['an empty page: nothing left to push', { count: 0, lastSeq: 0 }, { kind: 'done' }],
  ['an empty page because the next entry alone is over the cap: a permanent failure', { count: 0, lastSeq: 0, tooLarge: { entry_id: 'e1', bytes: 17_000_000 } },
    { kind: 'entry-too-large', entryId: 'e1', bytes: 17_000_000 }]
]

for (const [name, page, expected] of pageTable) {
  test(`before a push: ${name}`, (t) => {
    t.deepEqual(beforePush(page), expected)
  })
}

const pushState: PushState = { seq: 10, limit: 1000, pushed: 5 }
const ackTable: Array<[string, PushPage, PushAck, PushStep]> = [
  ['an accepted page moves the cursor to its last seq', { count: 3, lastSeq: 20 }, { ok: true, stored: 3, ignored: 0 },
    { state: { seq: 20, limit: 1000, pushed: 8 } }],
  ['entries the peer already had still move the cursor', { count: 3, lastSeq: 20 }, { ok: true, stored: 0, ignored: 3 },
    { state: { seq: 20, limit: 1000, pushed: 8 } }],
  // test/integration/refusals.test.ts: refused entries are never resent.
  ['entries refused for good move the cursor past them and are counted', { count: 3, lastSeq: 20 }, { ok: false, stored: 1, ignored: 0 },
    { state: { seq: 20, limit: 1000, pushed: 8 }, refused: 2 }],
  ['a page refused whole still moves the cursor', { count: 4, lastSeq: 30 }, { ok: false, stored: 0, ignored: 0 },
    { state: { seq: 30, limit: 1000, pushed: 9 }, refused: 4 }]
]

for (const [name, page, ack, expected] of ackTable) {
  test(`after a push ack: ${name}`, (t) => {
    t.deepEqual(afterAck(pushState, page, ack), expected)
  })
}
