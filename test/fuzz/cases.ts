/**
 * Hostile and broken inputs for the sync surfaces, generated from a seed: truncated and invalid JSON, wrong types,
 * huge and negative numbers, deep nesting, invalid UTF-8, NUL bytes, oversized bodies, entries with one bad field.
 * Each case is bytes plus how to deliver them (all at once, in pieces, or cut off by a reset).
 */
import type { ExecutionContext } from 'ava'
import fc from 'fast-check'
import { entryFields, validateEntry, type Entry } from '../../src/core/entry.js'
import { openDatabase } from '../../src/store/db.js'
import { uuidFrom } from '../helpers/cluster.js'

export type Delivery = 'whole' | 'chunked' | 'reset'

export interface FuzzCase {
  kind: string
  bytes: Uint8Array
  delivery: Delivery
}

const enc = new TextEncoder()

/** Test-only size knobs. */
export const MiB = 1024 * 1024

export function validEntry (random: () => number, i: number): Entry {
  return {
    entry_id: uuidFrom(random),
    device_id: 'fuzz-device',
    user_id: 'fuzz',
    ts: new Date(Date.UTC(2026, 0, 1) + Math.floor(random() * 1e10)).toISOString(),
    cmd: `fuzz ${i}`,
    cwd: '/tmp',
    exit_code: 0,
    duration_ms: 1,
    shell: 'bash',
    hostname: 'fuzz-host',
    version: '0.1.0'
  }
}

/** Values that must make an entry invalid, per field. */
const badValues: Record<string, unknown[]> = {
  entry_id: ['', 'not-a-uuid', 42, null, 'zzzzzzzz-zzzz-4zzz-8zzz-zzzzzzzzzzzz', `${'a'.repeat(8)}-aaaa-aaaa-aaaa-${'a'.repeat(12)}`, ['x']],
  device_id: ['', null, 7, 'x'.repeat(300), 'a\u0000b', {}],
  ts: ['yesterday', '2026-02-31T00:00:00Z', '2026-13-01T00:00:00Z', '1969-12-31T23:59:59Z', 1700000000, '', null, '2026-01-01'],
  cmd: ['', null, 5, 'a\u0000b', 'x'.repeat(70 * 1024), []],
  cwd: [null, 3, 'a\u0000', 'x'.repeat(5000)],
  exit_code: ['0', 1.5, 2 ** 31, -(2 ** 31) - 1, null, 1e308, Number.MAX_SAFE_INTEGER],
  duration_ms: [-1, '5', 1.25, null, 2 ** 60, -0.5],
  shell: [null, 1, 'x'.repeat(300)],
  hostname: [false, 'a\u0000'],
  version: [{}, 'v'.repeat(257)],
  user_id: [null, 0]
}

/** An entry with exactly one invalid field; `field` says which. */
export function invalidEntry (random: () => number, i: number): { entry: Record<string, unknown>, field: string } {
  const fields = Object.keys(badValues)
  const field = fields[Math.floor(random() * fields.length)]!
  const values = badValues[field]!
  const entry: Record<string, unknown> = { ...validEntry(random, i) }
  if (random() < 0.1) delete entry[field]
  else entry[field] = values[Math.floor(random() * values.length)]
  return { entry, field }
}

function deepNesting (depth: number, random: () => number): string {
  return random() < 0.5 ? '['.repeat(depth) + ']'.repeat(depth) : '{"a":'.repeat(depth) + '1' + '}'.repeat(depth)
}

/** Bytes that are not UTF-8: stray continuation bytes, overlong forms, encoded surrogates, truncated sequences. */
const invalidUtf8 = [[0xff], [0xfe, 0xff], [0xc0, 0xaf], [0xed, 0xa0, 0x80], [0xe2, 0x82], [0xf8, 0x88, 0x80, 0x80, 0x80], [0x80]]

function withInvalidUtf8 (text: string, random: () => number): Uint8Array {
  const bytes = enc.encode(text)
  const at = Math.floor(random() * bytes.length)
  const bad = invalidUtf8[Math.floor(random() * invalidUtf8.length)]!
  return Uint8Array.from([...bytes.subarray(0, at), ...bad, ...bytes.subarray(at)])
}

const weirdNumbers = ['-1', '1e308', '-1e308', '18446744073709551616', '9007199254740993', '-0', '0.5', '1e-400', 'NaN', 'Infinity', '0x10', '00', '1'.repeat(400)]

export interface CaseOptions {
  /** Which protocol: pull requests or push requests. */
  target: 'pull' | 'push'
  /** Cap of the request on this surface (a few cases go past it). */
  capBytes: number
  /** Allow multi-MiB cases (oversized bodies). @default true */
  big?: boolean
}

/** The `i`-th case of a seeded stream (deterministic for a seed). */
export function generateCase (random: () => number, i: number, options: CaseOptions): FuzzCase {
  const r = random()
  const delivery: Delivery = r < 0.1 ? 'reset' : r < 0.3 ? 'chunked' : 'whole'
  const pick = Math.floor(random() * 14)
  const validDoc = options.target === 'pull'
    ? JSON.stringify({ cursor: Math.floor(random() * 50), limit: 1 + Math.floor(random() * 20) })
    : JSON.stringify({ entries: Array.from({ length: 1 + Math.floor(random() * 5) }, (_, k) => validEntry(random, i * 10 + k)) })
  const as = (kind: string, bytes: Uint8Array | string, d: Delivery = delivery): FuzzCase => ({ kind, bytes: typeof bytes === 'string' ? enc.encode(bytes) : bytes, delivery: d })
  switch (pick) {
    case 0: return as('truncated-json', validDoc.slice(0, Math.floor(random() * validDoc.length)))
    case 1: return as('random-bytes', Uint8Array.from({ length: Math.floor(random() * 512) }, () => Math.floor(random() * 256)))
    case 2: {
      const [value] = fc.sample(fc.json({ maxDepth: 4 }), { seed: Math.floor(random() * 2 ** 31), numRuns: 1 })
      return as('arbitrary-json', value!)
    }
    case 3: {
      const n = weirdNumbers[Math.floor(random() * weirdNumbers.length)]!
      return as('weird-number', options.target === 'pull'
        ? (random() < 0.5 ? `{"cursor":${n},"limit":10}` : `{"cursor":0,"limit":${n}}`)
        : `{"entries":[${JSON.stringify(validEntry(random, i)).replace(/"exit_code":0/, `"exit_code":${n}`)}]}`)
    }
    case 4: {
      const wrong = ['{"cursor":"0","limit":"10"}', '{"cursor":null}', '[]', '"SyncPull"', 'null', 'true', '{"entries":5}', '{"entries":{"0":{}}}',
        '{"entries":[1,null,"x",[]]}', '{"entries":null}', '{}', '{"cursor":[],"limit":{}}', '{"__proto__":{"cursor":1},"limit":1}']
      return as('wrong-types', wrong[Math.floor(random() * wrong.length)]!)
    }
    case 5: return as('deep-nesting', options.target === 'pull' ? `{"cursor":0,"limit":1,"x":${deepNesting(10_000, random)}}` : `{"entries":[${deepNesting(10_000, random)}]}`)
    case 6: return as('invalid-utf8', withInvalidUtf8(validDoc, random))
    case 7: {
      const bytes = enc.encode(validDoc)
      const at = Math.floor(random() * bytes.length)
      return as('nul-bytes', Uint8Array.from([...bytes.subarray(0, at), 0, 0, ...bytes.subarray(at)]))
    }
    case 8: {
      // A JSON-escaped NUL inside a string field: valid JSON, invalid entry.
      const e = { ...validEntry(random, i), cmd: 'rm -rf /\u0000; echo' }
      return as('nul-in-field', options.target === 'pull' ? '{"cursor":0,"limit":1,"cmd":"\\u0000"}' : JSON.stringify({ entries: [e] }))
    }
    case 9: {
      if (options.big === false || random() < 0.95) return as('slightly-oversized', 'x'.repeat(Math.min(options.capBytes + 1, 70 * 1024)))
      // Past the cap: the server must refuse without buffering it all.
      return as('oversized', new Uint8Array(options.capBytes + 1 + Math.floor(random() * 1024)).fill(0x20), 'whole')
    }
    case 10: {
      const n = 1 + Math.floor(random() * 20)
      const entries = Array.from({ length: n }, (_, k) => (random() < 0.5 ? validEntry(random, i * 100 + k) : invalidEntry(random, i * 100 + k).entry))
      return as('mixed-entries', options.target === 'pull' ? validDoc : JSON.stringify({ entries }))
    }
    case 11: return as('bare-array', options.target === 'pull' ? '[0,10]' : JSON.stringify([validEntry(random, i), invalidEntry(random, i).entry]))
    case 12: return as('empty', '')
    default: {
      const { entry } = invalidEntry(random, i)
      return as('invalid-entry', options.target === 'pull' ? `{"cursor":0,"limit":1,"entries":[${JSON.stringify(entry)}]}` : JSON.stringify({ entries: [entry] }))
    }
  }
}

/**
 * After a fuzz run: at least `minRows` rows are stored, every one passes validateEntry unchanged (no invalid
 * entry got in), and the database passes SQLite's integrity check.
 */
export function assertStoredEntriesValid (t: ExecutionContext, dbPath: string, minRows: number): void {
  const db = openDatabase(dbPath, { readonly: true })
  try {
    // The entry as the wire carries it: origin and sig only on a signed row (schema v7 stores '' for unsigned).
    const stored = db.prepare(`SELECT ingest_seq, ${entryFields.join(', ')}, NULLIF(origin, '') AS origin, sig FROM entries`).all() as Array<Entry & { ingest_seq: number }>
    const rows = stored.map((r) => Object.fromEntries(Object.entries(r).filter(([, v]) => v !== null)) as Entry & { ingest_seq: number })
    t.true(rows.length >= minRows)
    let invalid = 0
    for (const { ingest_seq: _seq, ...row } of rows) {
      try {
        t.deepEqual(validateEntry(row), row)
      } catch (err) {
        invalid++
        if (invalid < 5) t.fail(`invalid stored entry ${JSON.stringify(row).slice(0, 300)}: ${(err as Error).message}`)
      }
    }
    t.is(invalid, 0)
    t.is(db.pragma('integrity_check', { simple: true }), 'ok')
  } finally {
    db.close()
  }
}
