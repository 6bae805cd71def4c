// Streaming XSalsa20 with the API of xsalsa20@1.2.0 (update/finalize), on @noble/ciphers.
// Output is byte-identical to the original for any chunking: the keystream position carries across calls.
import { xsalsa20 as xorStream } from '@noble/ciphers/salsa.js'

const blockBytes = 64

class XSalsa20 {
  #key
  #nonce
  #position = 0

  constructor (nonce, key) {
    if (nonce == null || nonce.length < 24) throw new Error('nonce must be at least 24 bytes')
    if (key == null || key.length < 32) throw new Error('key must be at least 32 bytes')
    this.#nonce = Uint8Array.from(nonce.subarray(0, 24))
    this.#key = Uint8Array.from(key.subarray(0, 32))
  }

  update (input, output) {
    if (input == null) throw new Error('input must be Uint8Array or Buffer')
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
  return new XSalsa20(nonce, key)
}
xsalsa20.NONCEBYTES = 24
xsalsa20.KEYBYTES = 32
