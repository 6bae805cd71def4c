// Streaming XSalsa20 with the API of xsalsa20@1.2.0 (update/finalize/final), as @libp2p/pnet uses it.
// Output is byte-identical to the original for any chunking: the keystream position carries across calls.
//
// Every byte of a private-network connection goes through this on the main thread, so speed is event-loop time:
// libsodium (sodium-native, prebuilt N-API addon) runs at about 2 GB/s here, @noble/ciphers (pure JS) at about
// 150 MB/s. The addon is used when it loads; the pure-JS cipher is the fallback, and both are tested byte-equal.
import { createRequire } from 'node:module'
import { xsalsa20 as xorStream } from '@noble/ciphers/salsa.js'

const blockBytes = 64
const nonceBytes = 24
const keyBytes = 32

function loadSodium () {
  if (process.env.RUSTORY_XSALSA20 === 'noble') return undefined
  try {
    const sodium = createRequire(import.meta.url)('sodium-native')
    return typeof sodium.crypto_stream_xor_init === 'function' ? sodium : undefined
  } catch {
    return undefined
  }
}

const sodium = loadSodium()

function checkInit (nonce, key) {
  if (nonce == null || nonce.length < nonceBytes) throw new Error('nonce must be at least 24 bytes')
  if (key == null || key.length < keyBytes) throw new Error('key must be at least 32 bytes')
}

function checkInput (input) {
  if (input == null) throw new Error('input must be Uint8Array or Buffer')
}

/** libsodium's crypto_stream_xor_* state machine: it keeps the partial-block position itself. */
class SodiumXSalsa20 {
  #state

  constructor (nonce, key) {
    checkInit(nonce, key)
    this.#state = Buffer.alloc(sodium.crypto_stream_xor_STATEBYTES)
    sodium.crypto_stream_xor_init(this.#state, nonce.subarray(0, nonceBytes), key.subarray(0, keyBytes))
  }

  update (input, output) {
    checkInput(input)
    if (output == null) output = Buffer.allocUnsafe(input.length)
    if (input.length === 0) return output
    if (this.#state == null) throw new Error('cipher already finalized')
    sodium.crypto_stream_xor_update(this.#state, output.subarray(0, input.length), input)
    return output
  }

  finalize () {
    if (this.#state == null) return
    sodium.crypto_stream_xor_final(this.#state)
    this.#state = undefined
  }

  final () {
    this.finalize()
  }
}

/** @noble/ciphers has no streaming state: the block counter and the offset inside the block are kept here. */
class NobleXSalsa20 {
  #key
  #nonce
  #position = 0

  constructor (nonce, key) {
    checkInit(nonce, key)
    this.#nonce = Uint8Array.from(nonce.subarray(0, nonceBytes))
    this.#key = Uint8Array.from(key.subarray(0, keyBytes))
  }

  update (input, output) {
    checkInput(input)
    if (output == null) output = new Uint8Array(input.length)
    if (input.length === 0) return output
    if (this.#key == null) throw new Error('cipher already finalized')
    const offset = this.#position % blockBytes
    const counter = Math.floor(this.#position / blockBytes)
    const padded = new Uint8Array(offset + input.length)
    padded.set(input, offset)
    const xored = xorStream(this.#key, this.#nonce, padded, undefined, counter)
    output.set(xored.subarray(offset))
    this.#position += input.length
    return output
  }

  finalize () {
    this.#key?.fill(0)
    this.#key = undefined
  }

  final () {
    this.finalize()
  }
}

export default function xsalsa20 (nonce, key) {
  return sodium != null ? new SodiumXSalsa20(nonce, key) : new NobleXSalsa20(nonce, key)
}
xsalsa20.NONCEBYTES = nonceBytes
xsalsa20.KEYBYTES = keyBytes
/** Which implementation is in use: 'sodium-native' or '@noble/ciphers'. */
xsalsa20.implementation = sodium != null ? 'sodium-native' : '@noble/ciphers'
export { SodiumXSalsa20, NobleXSalsa20 }
