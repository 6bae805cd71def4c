/**
 * Property-based tests (fast-check, seeded) of the pure parts every hostile input goes through: the wire codecs,
 * entry validation and timestamp canonicalization. RUSTORY_FUZZ_RUNS raises the number of runs (long mode).
 */
import test from 'ava'
import fc from 'fast-check'
import { canonicalTs, entryFields, InvalidEntryError, maxCmdBytes, maxStoredCmdBytes, truncateCmd, validateBatch, validateEntry, type Entry } from '../../src/core/entry.js'
import { join } from 'node:path'
import { maxPullLimit } from '../../src/protocol/constants.js'
import { openDatabase } from '../../src/store/db.js'
import { insertEntries } from '../../src/store/entries.js'
import { exportBatch } from '../../workers/export-batch.js'
import { tempDir } from '../helpers/tmp.js'
import { decodeJson, encodeMessage, parseEntriesPush, parsePushAck, parseSyncBatch, parseSyncPull } from '../../src/protocol/messages.js'

const numRuns = Number(process.env.RUSTORY_FUZZ_RUNS ?? 300)
const seed = Number(process.env.RUSTORY_FUZZ_SEED ?? 20261122)
const params = { numRuns, seed }

/** Only ProtocolError may escape a decoder, whatever it is given. */
function onlyProtocolErrors (fn: () => unknown): boolean {
  try {
    fn()
    return true
  } catch (err) {
    return (err as Error).name === 'ProtocolError'
  }
}

const hex = (n: number): fc.Arbitrary<string> => fc.string({ unit: fc.constantFrom(...'0123456789abcdef'), minLength: n, maxLength: n })
const uuidV4 = fc.tuple(hex(8), hex(4), hex(3), fc.constantFrom('8', '9', 'a', 'b'), hex(3), hex(12)).map(([a, b, c, v, d, e]) => `${a}-${b}-4${c}-${v}${d}-${e}`)
const text = (max: number, min = 0): fc.Arbitrary<string> => fc.string({ unit: 'grapheme', minLength: min, maxLength: max }).filter((s) => !s.includes('\u0000') && Buffer.byteLength(s) <= max * 4)
const dateInRange = fc.date({ min: new Date('1970-01-01T00:00:00.000Z'), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true })

const entryArb: fc.Arbitrary<Entry> = fc.record({
  entry_id: uuidV4,
  device_id: text(60, 1),
  user_id: text(60),
  ts: dateInRange.map((d) => d.toISOString()),
  cmd: text(200, 1),
  cwd: text(200),
  exit_code: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  duration_ms: fc.maxSafeNat(),
  shell: text(20),
  hostname: text(60),
  version: text(20)
})

test('decodeJson round-trips whatever encodeMessage wrote', (t) => {
  fc.assert(fc.property(fc.jsonValue(), (value) => {
    t.deepEqual(decodeJson(encodeMessage(value), 'x'), JSON.parse(JSON.stringify(value)))
  }), params)
  t.pass()
})

test('decoders throw only ProtocolError, for any bytes and any JSON value', (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), (bytes) => onlyProtocolErrors(() => decodeJson(bytes, 'x'))), params)
  fc.assert(fc.property(fc.anything(), (value) =>
    onlyProtocolErrors(() => parseSyncPull(value)) && onlyProtocolErrors(() => parseSyncBatch(value)) &&
    onlyProtocolErrors(() => parseEntriesPush(value)) && onlyProtocolErrors(() => parsePushAck(value))), params)
  t.pass()
})

test('parseSyncPull accepts exactly non-negative safe integer cursors and positive limits, capped', (t) => {
  const num = fc.oneof(fc.integer(), fc.double(), fc.constantFrom(-0, 2 ** 53, -(2 ** 53), Number.MAX_SAFE_INTEGER, 0, 1), fc.string(), fc.constant(null))
  fc.assert(fc.property(num, num, (cursor, limit) => {
    const valid = typeof cursor === 'number' && Number.isSafeInteger(cursor) && cursor >= 0 &&
      typeof limit === 'number' && Number.isSafeInteger(limit) && limit >= 1
    let parsed: { cursor: number, limit: number } | undefined
    try { parsed = parseSyncPull({ cursor, limit }) } catch { parsed = undefined }
    t.is(parsed != null, valid, `cursor=${String(cursor)} limit=${String(limit)}`)
    if (parsed != null) {
      t.is(parsed.cursor, cursor as number)
      t.is(parsed.limit, Math.min(limit as number, maxPullLimit))
    }
  }), params)
})

test('parseSyncBatch refuses entries with a null next_cursor and cursors that are not non-negative integers', (t) => {
  fc.assert(fc.property(fc.array(fc.anything(), { maxLength: 3 }), fc.oneof(fc.constant(null), fc.integer(), fc.double()), (entries, next) => {
    const ok = onlyProtocolErrors(() => parseSyncBatch({ entries, next_cursor: next }))
    let accepted = true
    try { parseSyncBatch({ entries, next_cursor: next }) } catch { accepted = false }
    const validCursor = next === null ? entries.length === 0 : Number.isSafeInteger(next) && (next) >= 0
    return ok && accepted === validCursor
  }), params)
  t.pass()
})

test('validateEntry accepts every well-formed entry and returns it unchanged and canonical', (t) => {
  fc.assert(fc.property(entryArb, (entry) => {
    const valid = validateEntry(entry)
    t.deepEqual(valid, entry)
    t.deepEqual(Object.keys(valid).sort(), [...entryFields].sort())
    t.deepEqual(validateEntry(JSON.parse(JSON.stringify(valid))), valid, 'idempotent through JSON')
  }), params)
})

test('validateEntry keeps only the spec fields and canonicalizes ts and the uuid case', (t) => {
  fc.assert(fc.property(entryArb, fc.dictionary(fc.string().filter((k) => !(entryFields as readonly string[]).includes(k) && k !== '__proto__'), fc.jsonValue(), { maxKeys: 3 }), fc.integer({ min: -14 * 60, max: 14 * 60 }), (entry, extra, offsetMin) => {
    const sign = offsetMin < 0 ? '-' : '+'
    const abs = Math.abs(offsetMin)
    const local = new Date(Date.parse(entry.ts) + offsetMin * 60_000).toISOString().slice(0, 23)
    const ts = `${local}${sign}${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`
    const year = Number(local.slice(0, 4))
    fc.pre(year >= 1970 && year <= 9999 && Date.parse(entry.ts) < Date.parse('9999-12-31T00:00:00Z') && Date.parse(entry.ts) > Date.parse('1970-01-02T00:00:00Z'))
    const valid = validateEntry({ ...extra, ...entry, ts, entry_id: entry.entry_id.toUpperCase() })
    t.deepEqual(valid, entry)
  }), params)
})

const badField: Array<[keyof Entry, fc.Arbitrary<unknown>]> = [
  ['entry_id', fc.oneof(fc.string().filter((s) => !/^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i.test(s)), fc.integer(), fc.constant(null))],
  ['device_id', fc.oneof(fc.constant(''), fc.integer(), fc.constant('a\u0000'), fc.constant('d'.repeat(257)))],
  ['ts', fc.oneof(fc.string().filter((s) => canonicalTs(s) == null), fc.integer(), fc.constant('1969-12-31T23:59:59Z'))],
  ['cmd', fc.oneof(fc.constant(''), fc.constant(null), fc.constant('x'.repeat(maxStoredCmdBytes + 1)), fc.string().map((s) => `${s}\u0000`))],
  ['exit_code', fc.oneof(fc.double().filter((n) => !Number.isInteger(n)), fc.integer({ min: 2 ** 31, max: 2 ** 40 }), fc.string())],
  ['duration_ms', fc.oneof(fc.integer({ max: -1 }), fc.double({ min: 0.1, max: 1e6, noInteger: true }), fc.constant('1'))]
]

test('validateEntry refuses an entry with any one bad field, naming the field', (t) => {
  for (const [field, arb] of badField) {
    fc.assert(fc.property(entryArb, arb, (entry, bad) => {
      const error = t.throws(() => validateEntry({ ...entry, [field]: bad }), { instanceOf: InvalidEntryError })
      t.is(error?.field, field)
    }), { ...params, numRuns: Math.max(20, Math.floor(numRuns / 4)) })
  }
})

test('validateBatch splits any array into valid and rejected without losing an index', (t) => {
  fc.assert(fc.property(fc.array(fc.oneof(entryArb, fc.anything()), { maxLength: 10 }), (items) => {
    const { valid, rejected } = validateBatch(items)
    t.is(valid.length + rejected.length, items.length)
    for (const r of rejected) t.true(r.index >= 0 && r.index < items.length)
  }), params)
})

test('canonicalTs round-trips every canonical timestamp and is idempotent', (t) => {
  fc.assert(fc.property(dateInRange, (d) => {
    t.is(canonicalTs(d.toISOString()), d.toISOString())
  }), params)
  fc.assert(fc.property(fc.string(), (s) => {
    const c = canonicalTs(s)
    if (c != null) t.is(canonicalTs(c), c)
  }), params)
})

test('truncateCmd never exceeds the stored cap and keeps short commands as they are', (t) => {
  fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 300 }), fc.integer({ min: 0, max: 3 }), (s, blowUp) => {
    const cmd = blowUp === 0 ? s : s.repeat(Math.ceil((maxCmdBytes + 10) / Math.max(1, Buffer.byteLength(s))) * blowUp)
    const out = truncateCmd(cmd)
    t.true(Buffer.byteLength(out) <= maxStoredCmdBytes)
    if (Buffer.byteLength(cmd) <= maxCmdBytes) t.is(out, cmd)
    t.false(out.includes('\uFFFD') && !cmd.includes('\uFFFD'), 'no character is split')
  }), { ...params, numRuns: Math.max(20, Math.floor(numRuns / 5)) })
})

// Control characters, quotes, backslashes and non-BMP text, so SQLite's json_object escaping is exercised.
const awkward = fc.string({ unit: fc.oneof(fc.constantFrom('"', '\\', '\n', '\t', '\u0001', '\u001f', '\u007f', '\u2028', '/', '😀', 'é'), fc.string({ unit: 'grapheme', maxLength: 1 })), minLength: 1, maxLength: 40 })
  .filter((s) => !s.includes('\u0000'))

test('exportBatch: the SyncBatch SQLite builds parses back to the stored entries, in order, within maxBytes', (t) => {
  const db = openDatabase(join(tempDir(t), 'export.db'))
  t.teardown(() => db.close())
  let cursor = 0
  fc.assert(fc.property(
    fc.array(fc.record({ entry: entryArb, cmd: awkward, cwd: awkward }), { minLength: 1, maxLength: 12 }),
    fc.integer({ min: 200, max: 8000 }),
    (items, maxBytes) => {
      const entries = items.map(({ entry, cmd, cwd }) => ({ ...entry, cmd, cwd }))
      const fresh = insertEntries(db, entries)
      if (fresh.ignored > 0) return true // a repeated uuid from the generator: nothing to compare
      const result = exportBatch({ tag: 'export-batch', dbPath: db.name, cursor, limit: 1000, maxBytes })
      t.true(result.payload.length <= maxBytes)
      const batch = JSON.parse(Buffer.from(result.payload).toString('utf8')) as { entries: Entry[], next_cursor: number | null }
      t.deepEqual(batch.entries, entries.slice(0, result.count))
      if (result.count < entries.length && result.tooLarge == null) {
        // The next entry would not have fitted.
        t.true(result.payload.length + Buffer.byteLength(JSON.stringify(entries[result.count])) + 1 > maxBytes - 64)
      }
      // Move past this round's rows for the next one.
      cursor = db.prepare('SELECT MAX(ingest_seq) FROM entries').pluck().get() as number
      return true
    }
  ), { numRuns: Math.min(numRuns, 150), seed })
})
