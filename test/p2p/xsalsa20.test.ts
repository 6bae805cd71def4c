import { randomBytes } from 'node:crypto'
import { createRequire } from 'node:module'
import { xsalsa20 as oneShot } from '@noble/ciphers/salsa.js'
import test from 'ava'
import fc from 'fast-check'
import { cipherImplementation, createXSalsa20, NobleXSalsa20, SodiumXSalsa20, type StreamCipher } from '../../src/p2p/xsalsa20.js'

type CipherClass = new (nonce: Uint8Array, key: Uint8Array) => StreamCipher
// Both implementations behind rustory's pnet: libsodium (sodium-native) when it loads, @noble/ciphers otherwise.
const implementations: Array<[string, CipherClass]> = [['sodium-native', SodiumXSalsa20], ['@noble/ciphers', NobleXSalsa20]]

// The independent reference: the cipher @libp2p/pnet itself depends on, xsalsa20@1.2.0 (WASM, a devDependency only).
const requireFromPnet = createRequire(createRequire(import.meta.url).resolve('@libp2p/pnet'))
const wasmXSalsa20 = requireFromPnet('xsalsa20') as (nonce: Uint8Array, key: Uint8Array) => { update: (input: Uint8Array) => Uint8Array, finalize: () => void }

/** Cuts `length` bytes into pieces sized by `cuts` (cycled), empty pieces included. */
function pieces (length: number, cuts: number[]): Array<[number, number]> {
  const out: Array<[number, number]> = []
  let offset = 0
  for (let i = 0; offset < length; i++) {
    const size = Math.min(cuts[i % cuts.length]!, length - offset)
    out.push([offset, offset + size])
    offset += size
  }
  return out
}

const chunkings = fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 40 }).filter((cuts) => cuts.some((c) => c > 0))

test('the private network uses libsodium through sodium-native on this platform', (t) => {
  t.is(cipherImplementation(), 'sodium-native')
  t.is(cipherImplementation(true), '@noble/ciphers')
  t.true(createXSalsa20(randomBytes(24), randomBytes(32)) instanceof SodiumXSalsa20)
})

for (const [name, Impl] of implementations) {
  test(`${name}: streaming output equals a one-shot xsalsa20 over the whole buffer, for random chunkings`, (t) => {
    fc.assert(fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ minLength: 24, maxLength: 24 }),
      fc.integer({ min: 0, max: 20_000 }),
      chunkings,
      (key, nonce, length, cuts) => {
        const data = randomBytes(length)
        const cipher = new Impl(nonce, key)
        const out = Buffer.concat(pieces(length, cuts).map(([a, b]) => Buffer.from(cipher.update(data.subarray(a, b)))))
        cipher.finalize()
        return out.equals(Buffer.from(oneShot(key, nonce, data)))
      }
    ), { numRuns: 400 })
    t.pass()
  })

  test(`${name}: byte-identical to @libp2p/pnet's own xsalsa20 (WASM) when both are chunked at random, differently`, (t) => {
    fc.assert(fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ minLength: 24, maxLength: 24 }),
      fc.integer({ min: 0, max: 20_000 }),
      chunkings,
      chunkings,
      (key, nonce, length, ours, theirs) => {
        const data = randomBytes(length)
        const mine = new Impl(nonce, key)
        const reference = wasmXSalsa20(nonce, key)
        const a = Buffer.concat(pieces(length, ours).map(([s, e]) => Buffer.from(mine.update(data.subarray(s, e)))))
        const b = Buffer.concat(pieces(length, theirs).map(([s, e]) => Buffer.from(reference.update(data.subarray(s, e)))))
        mine.finalize()
        reference.finalize()
        return a.equals(b)
      }
    ), { numRuns: 300 })
    t.pass()
  })

  test(`${name}: update writes into a given output buffer, also in place, and a large call is not special`, (t) => {
    const key = randomBytes(32)
    const nonce = randomBytes(24)
    const data = randomBytes(3 * 1024 * 1024 + 17)
    const expected = Buffer.from(oneShot(key, nonce, data))
    const cipher = new Impl(nonce, key)
    const head = Buffer.from(data.subarray(0, 5))
    cipher.update(head, head)
    const rest = Buffer.from(data.subarray(5))
    const out = cipher.update(rest, rest)
    t.is(out, rest)
    t.true(Buffer.concat([head, rest]).equals(expected))
  })

  test(`${name}: a wrong-sized key or nonce is refused, and a finalized cipher refuses more input`, (t) => {
    t.throws(() => new Impl(randomBytes(23), randomBytes(32)), { instanceOf: RangeError })
    t.throws(() => new Impl(randomBytes(24), randomBytes(31)), { instanceOf: RangeError })
    const cipher = new Impl(randomBytes(24), randomBytes(32))
    cipher.finalize()
    t.throws(() => cipher.update(randomBytes(8)), { message: /finalized/ })
  })
}
