import test from 'ava'
import { createHash } from 'node:crypto'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Entry } from '../../src/core/entry.js'
import { entryDigests, sha256Addon, sha256AddonPath, useSha256Addon } from '../../src/core/entry-digests.js'
import { canonicalEntryBytes } from '../../src/core/signature.js'
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
