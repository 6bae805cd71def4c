import { randomBytes } from 'node:crypto'
import { realpathSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { xsalsa20 as oneShot } from '@noble/ciphers/salsa.js'
import test from 'ava'
import fc from 'fast-check'
import { pnetCipherModule } from '../../src/p2p/index.js'

// The replacement cipher that package.json's overrides puts under @libp2p/pnet (plain JS, not compiled).
const replacementPath = fileURLToPath(new URL('../../../src/p2p/xsalsa20-compat/index.js', import.meta.url))
interface Cipher { update: (input: Uint8Array, output?: Uint8Array) => Uint8Array, finalize: () => void }
type CipherClass = new (nonce: Uint8Array, key: Uint8Array) => Cipher
const replacement = await import(replacementPath) as {
  default: ((nonce: Uint8Array, key: Uint8Array) => Cipher) & { implementation: string }
  SodiumXSalsa20: CipherClass
  NobleXSalsa20: CipherClass
}
// Both implementations behind the module: libsodium (sodium-native) when it loads, @noble/ciphers otherwise.
const implementations: Array<[string, CipherClass]> = [['sodium-native', replacement.SodiumXSalsa20], ['@noble/ciphers', replacement.NobleXSalsa20]]

test('the replacement uses libsodium through sodium-native on this platform', (t) => {
  t.is(replacement.default.implementation, 'sodium-native')
})

test('@libp2p/pnet loads rustory\'s replacement cipher, not the WASM xsalsa20', (t) => {
  t.is(pnetCipherModule(), realpathSync(replacementPath))
})

for (const [name, Impl] of implementations) {
  test(`${name}: streaming output equals a one-shot xsalsa20 over the whole buffer, for random chunkings`, (t) => {
    fc.assert(fc.property(
      fc.uint8Array({ minLength: 32, maxLength: 32 }),
      fc.uint8Array({ minLength: 24, maxLength: 24 }),
      fc.integer({ min: 0, max: 20_000 }),
      // Empty updates are part of the property, but some cut must be non-empty or the loop never ends.
      fc.array(fc.integer({ min: 0, max: 3000 }), { minLength: 1, maxLength: 40 }).filter((cuts) => cuts.some((c) => c > 0)),
      (key, nonce, length, cuts) => {
        const data = randomBytes(length)
        const expected = oneShot(key, nonce, data)
        const cipher = new Impl(nonce, key)
        const parts: Buffer[] = []
        let offset = 0
        for (let i = 0; offset < length; i++) {
          const size = Math.min(cuts[i % cuts.length]!, length - offset)
          parts.push(Buffer.from(cipher.update(data.subarray(offset, offset + size))))
          offset += size
        }
        cipher.finalize()
        return Buffer.concat(parts).equals(Buffer.from(expected))
      }
    ), { numRuns: 400 })
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
}
