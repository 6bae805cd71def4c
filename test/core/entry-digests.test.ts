import test, { type ExecutionContext } from 'ava'
import { createHash } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Entry } from '../../src/core/entry.js'
import { validateBatch } from '../../src/core/entry.js'
import { entryDigests, receivedDigests, sha256Addon, sha256AddonPath, useSha256Addon } from '../../src/core/entry-digests.js'
import { canonicalEntryBytes, canonicalLayout, canonicalTail } from '../../src/core/signature.js'
import { entry } from '../store/fixtures.js'

const origin = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()
const other = peerIdFromPrivateKey(await generateKeyPair('Ed25519')).toString()

/** Short and long, ASCII and not, one past the 1 MiB the laid-out bytes start with, and malformed ones between. */
const entries: Entry[] = [
  entry(), entry({ cmd: 'ls -la\necho "ü" 😀 \u2028', cwd: '/tmp/ß' }), entry({ exit_code: -1, duration_ms: 0 }),
  { ...entry(), exit_code: 1.5 } as unknown as Entry,
  entry({ session_id: 's-1', cmd: 'x'.repeat(70_000) }), entry({ cmd: '\u00ff'.repeat(400_000), user_id: '' }),
  { ...entry(), cmd: null } as unknown as Entry,
  ...Array.from({ length: 300 }, (_, i) => entry({ cmd: `make test-${i}` }))
]
const originOf = (i: number): string | undefined => i % 5 === 4 ? undefined : i % 3 === 0 ? other : origin
const expected = (e: Entry, o: string): string | undefined => {
  try {
    return createHash('sha256').update(canonicalEntryBytes(e, o)).digest('hex')
  } catch {
    return undefined
  }
}

for (const native of [true, false]) {
  test.serial(`entryDigests ${native ? 'in one native call' : 'with node:crypto, one call each (no addon)'}: each entry's SHA-256 of its canonical bytes under its origin; none for a malformed entry or one not asked for`, (t) => {
    useSha256Addon(native)
    t.teardown(() => { useSha256Addon(true) })
    if (native) t.truthy(sha256Addon(), `the addon ${sha256AddonPath.pathname} loads (npm install builds it)`)
    else t.is(sha256Addon(), null)
    for (let round = 0; round < 2; round++) {
      const { digests, hashed } = entryDigests(entries, originOf)
      t.is(digests.length, 32 * entries.length)
      entries.forEach((e, i) => {
        const o = originOf(i)
        const want = o === undefined ? undefined : expected(e, o)
        t.is(hashed[i], want === undefined ? 0 : 1, `entry ${i} hashed`)
        if (want !== undefined) t.is(digests.toString('hex', 32 * i, 32 * i + 32), want, `entry ${i}`)
      })
    }
    t.is(entries.filter((e, i) => originOf(i) !== undefined && expected(e, originOf(i)!) === undefined).length, 2, 'two malformed entries were asked for')
  })
}

test('the addon refuses what is not a list of messages: wrong types, ends past the data or going back, too short an output', (t) => {
  const addon = sha256Addon()
  t.truthy(addon)
  const data = Buffer.from('abcdef')
  const out = Buffer.alloc(64)
  addon!.sha256Each(data, new Uint32Array([3, 6]), out)
  t.is(out.toString('hex'), createHash('sha256').update('abc').digest('hex') + createHash('sha256').update('def').digest('hex'))
  addon!.sha256Each(data, new Uint32Array([0]), out)
  t.is(out.toString('hex', 0, 32), createHash('sha256').update('').digest('hex'))
  const bad: Array<[string, () => void]> = [
    ['ends past the data', () => { addon!.sha256Each(data, new Uint32Array([3, 7]), out) }],
    ['ends going back', () => { addon!.sha256Each(data, new Uint32Array([4, 2]), out) }],
    ['output too short', () => { addon!.sha256Each(data, new Uint32Array([1, 2, 3]), out) }],
    ['ends not a Uint32Array', () => { addon!.sha256Each(data, new Int32Array([3, 6]) as unknown as Uint32Array, out) }],
    ['data not bytes', () => { addon!.sha256Each('abcdef' as unknown as Uint8Array, new Uint32Array([3]), out) }],
    ['two arguments', () => { (addon!.sha256Each as unknown as (a: unknown, b: unknown) => void)(data, new Uint32Array([3])) }]
  ]
  for (const [what, call] of bad) t.throws(call, { instanceOf: TypeError }, what)
})

/**
 * Entries as a received message may spell them. Each is an entry's JSON text with `k`; received digests are hashed
 * from that text in native code (receivedDigests), and must be exactly what JSON.parse, validation and writeCanonical
 * make of the same text (entryDigests), whatever the text holds.
 */
const plain = (over: Partial<Entry> = {}, k = 0): string => JSON.stringify({ ...entry(over), k })
const spelled = (text: string): string => { const e = entry(); return `{"entry_id":"${e.entry_id}","device_id":"dev-a","user_id":"u","ts":"${e.ts}",${text},"cwd":"/","exit_code":0,"duration_ms":1,"shell":"zsh","hostname":"h","version":"1","k":0}` }
const tricky: Array<[what: string, text: string, native: boolean]> = [
  ['plain', plain(), true],
  ['with session_id', plain({ session_id: 's-1' }), true],
  ['session_id null', plain().replace('"k":0', '"session_id":null,"k":0'), true],
  ['negative and large integers', plain({ exit_code: -255, duration_ms: 86_400_000_000 }), true],
  ['UTF-8 as it is', plain({ cmd: 'echo "ü" 😀 \u2028 ß', cwd: '/tmp/ß' }), true],
  ['a long command (where the entry is written grows)', plain({ cmd: 'ü'.repeat(3000) + 'x\\"'.repeat(40_000) }), true],
  ['every short escape', spelled(String.raw`"cmd":"a\"b\\c\/d\be\ff\ng\rh\ti"`), true],
  ['\\u escapes, a surrogate pair', spelled(String.raw`"cmd":"\u0041\u00e9\u20ac\ud83d\ude00\uFFFF"`), true],
  ['keys in another order, space between tokens', (() => { const e = entry(); return ` { "version" : "1" ,\n"cmd":"ls", "k":0,"hostname":"h","shell":"zsh","duration_ms":1,"exit_code":0,"cwd":"/","ts":"${e.ts}","user_id":"u","device_id":"d","entry_id":"${e.entry_id}" } ` })(), true],
  ['unknown keys holding quotes, brackets and braces', plain().replace('"k":0', String.raw`"x":{"a":[1,"]}",{"b":"\"{"},[[]],{}],"c":true},"y":-1.5e3,"z":null,"k":0`), true],
  ['cmd named twice (JSON.parse keeps the last)', plain({ cmd: 'first' }).replace('"k":0', '"cmd":"second","k":0'), true],
  ['an escaped key that JSON.parse reads as cmd', plain({ cmd: 'first' }).replace('"k":0', String.raw`"cm\u0064":"second","k":0`), false],
  ['a lone surrogate escaped', spelled(String.raw`"cmd":"a\ud800b"`), false],
  ['a lone low surrogate escaped', spelled(String.raw`"cmd":"a\udc00"`), false],
  ['-0', plain().replace('"exit_code":0', '"exit_code":-0'), false],
  ['1.0', plain().replace('"exit_code":0', '"exit_code":1.0'), false],
  ['1e0', plain().replace('"exit_code":0', '"exit_code":1e0'), false],
  ['a required field null', plain().replace('"cwd":"/home/user"', '"cwd":null'), false],
  ['a required field missing', plain().replace('"cwd":"/home/user",', ''), false],
  ['an upper-case entry_id (validation lowers it)', plain().replace(/"entry_id":"([^"]+)"/, (_m, id: string) => `"entry_id":"${id.toUpperCase()}"`), true],
  ['a stamp not in canonical form (validation rewrites it)', plain().replace(/"ts":"[^"]+"/, '"ts":"2026-01-02T03:04:05Z"'), true],
  ['a NUL in cmd (validation refuses it)', spelled(String.raw`"cmd":"a\u0000b"`), true],
  ['exit_code a string (validation refuses it)', plain().replace('"exit_code":0', '"exit_code":"0"'), true],
  ['exit_code an object', plain().replace('"exit_code":0', '"exit_code":{"a":0}'), false],
  ['not an object', '[1,{"cmd":"x"}]', true],
  ['a number', '42', true]
]
const messageOf = (items: readonly string[], around = (entries: string): string => `{"chunks":[{"id":0,"origin":"x","sig":"a{[\\"","hashes":""}],"entries":${entries},"next_cursor":9}`): string => around(`[${items.join(',')}]`)
const originOfReceived = (i: number): string | undefined => i % 4 === 3 ? undefined : i % 2 === 0 ? origin : other

function sameAsJs (t: ExecutionContext, text: string, what: string): void {
  const raw = (JSON.parse(text) as { entries: unknown[] }).entries
  const { valid, indexes } = validateBatch(raw)
  const got = receivedDigests({ json: Buffer.from(text), raw, indexes }, valid, originOfReceived)
  const want = entryDigests(valid, originOfReceived)
  t.deepEqual([...got.hashed], [...want.hashed], `${what}: the same entries hashed`)
  const hex = (d: typeof got): string[] => valid.map((_e, i) => d.hashed[i] === 1 ? d.digests.toString('hex', 32 * i, 32 * i + 32) : '')
  t.deepEqual(hex(got), hex(want), `${what}: the same digests`)
}

test('receivedDigests: an entry hashed from the message text has the digest JSON.parse, validation and writeCanonical give it, however it is spelled', (t) => {
  t.truthy(sha256Addon()?.sha256EntriesJson, 'the addon has sha256EntriesJson')
  sameAsJs(t, messageOf(tricky.map(([, text]) => text)), 'every spelling in one message')
  for (const [what, text] of tricky) sameAsJs(t, messageOf([plain(), text, plain()]), what)
  sameAsJs(t, messageOf([plain()], (entries) => `{"entries":${entries}}`), 'entries only')
  sameAsJs(t, messageOf([plain()], (entries) => ` \n{ "entries" : ${entries} , "next_cursor" : 1 }\n`), 'space around the envelope')
})

test('sha256EntriesJson writes the plain form itself and leaves any other to JS: escaped keys, lone surrogates, integers not in shortest form, a required field null or missing', (t) => {
  const addon = sha256Addon()!
  const tails = canonicalTail(origin)
  const states = (text: string, n: number): number[] => {
    const state = new Uint8Array(n)
    const out = Buffer.alloc(32 * n)
    const items = addon.sha256EntriesJson!(Buffer.from(text), canonicalLayout.tag, canonicalLayout.names, canonicalLayout.optional, tails, Uint32Array.of(tails.length), new Int32Array(n), out, state)
    t.is(items, n)
    return [...state]
  }
  for (const [what, text, native] of tricky) {
    const [state] = states(messageOf([text]), 1)
    if (text.startsWith('{') || text.startsWith(' {')) t.is(state, native ? 1 : 2, what)
    else t.is(state, 0, `${what}: not an entry object, not hashed`)
  }
  const n = 3
  const refused = (around: (entries: string) => string): number => addon.sha256EntriesJson!(Buffer.from(messageOf([plain(), plain(), plain()], around)), canonicalLayout.tag, canonicalLayout.names, canonicalLayout.optional, tails, Uint32Array.of(tails.length), new Int32Array(n), Buffer.alloc(32 * n), new Uint8Array(n))
  t.is(refused((e) => `{"entries":${e},"entries":[]}`), -1, '`entries` twice: the message is left to JS')
  t.is(refused((e) => `{"entries":[],"entri\\u0065s":${e}}`), -1, 'a top-level key with an escape: the message is left to JS')
  t.is(refused((e) => `[${e}]`), -1, 'not an object')
  t.is(refused((e) => `{"x":{"entries":${e}}}`), -1, '`entries` only deeper down')
  t.is(refused((e) => `{"entries":${e}`), -1, 'cut short')
})

test('sha256EntriesJson on mangled messages: never reads past the text, and whatever JSON.parse accepts is hashed as JS hashes it', (t) => {
  // A fixed seed (xorshift): the same 3000 messages every run.
  let seed = 0x9e3779b9
  const next = (n: number): number => { seed ^= seed << 13; seed ^= seed >>> 17; seed ^= seed << 5; return (seed >>> 0) % n }
  const base = messageOf([plain(), tricky[5]![1], tricky[6]![1], tricky[8]![1], plain({ session_id: 's' })])
  const alphabet = '{}[]",:\\u0123456789abcdefn- \n'
  const tails = canonicalTail(origin)
  let parsed = 0
  for (let round = 0; round < 3000; round++) {
    const chars = [...base]
    const edits = 1 + next(4)
    for (let e = 0; e < edits; e++) {
      const at = next(chars.length)
      const op = next(3)
      if (op === 0) chars[at] = alphabet[next(alphabet.length)]!
      else if (op === 1) chars.splice(at, 1)
      else chars.splice(at, 0, alphabet[next(alphabet.length)]!)
    }
    const text = chars.join('').slice(0, next(8) === 0 ? next(chars.length) : undefined)
    const bytes = Buffer.from(text)
    // At the end of its own allocation: a read past the text would be a read past the buffer.
    const exact = new Uint8Array(new ArrayBuffer(bytes.length))
    exact.set(bytes)
    addon().sha256EntriesJson!(exact, canonicalLayout.tag, canonicalLayout.names, canonicalLayout.optional, tails, Uint32Array.of(tails.length), new Int32Array(8), Buffer.alloc(32 * 8), new Uint8Array(8))
    let message: unknown
    try {
      message = JSON.parse(text)
    } catch {
      continue
    }
    if (message == null || typeof message !== 'object' || !Array.isArray((message as { entries?: unknown }).entries)) continue
    parsed++
    sameAsJs(t, text, `mangled message ${round}`)
  }
  t.true(parsed > 300, `${parsed} of the mangled messages still parse, and were compared`)
})

function addon (): NonNullable<ReturnType<typeof sha256Addon>> {
  return sha256Addon()!
}
