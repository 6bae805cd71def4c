/**
 * Streaming XSalsa20 for the private network (src/p2p/pnet.ts): the keystream position carries across calls, so the
 * output is the same for any chunking of the input. @libp2p/pnet's own xsalsa20@1.2.0 (WASM) breaks after large
 * writes (LIBP2P.md); this is what rustory runs instead.
 *
 * Every byte of a private-network connection goes through here on the main thread, so speed is event-loop time:
 * libsodium (sodium-native, a prebuilt N-API addon) runs at about 2 GB/s, @noble/ciphers (pure JS) at about
 * 150 MB/s. The addon is used when it loads; the pure-JS cipher is the fallback, and both are tested byte-equal.
 */
import { createRequire } from 'node:module'
import { xsalsa20 as xorStream } from '@noble/ciphers/salsa.js'

export const nonceBytes = 24
export const keyBytes = 32
const blockBytes = 64

/** A streaming XSalsa20 (the same bytes either way: XOR with the keystream). */
export interface StreamCipher {
  /** XORs `input` with the next `input.length` keystream bytes, into `output` when given (may be `input`). */
  update: (input: Uint8Array, output?: Uint8Array) => Uint8Array
  /** Wipes the state; later updates throw. */
  finalize: () => void
}

/** The part of sodium-native used here. */
interface Sodium {
  crypto_stream_xor_STATEBYTES: number
  crypto_stream_xor_init: (state: Uint8Array, nonce: Uint8Array, key: Uint8Array) => void
  crypto_stream_xor_update: (state: Uint8Array, output: Uint8Array, input: Uint8Array) => void
  crypto_stream_xor_final: (state: Uint8Array) => void
}

/** Which implementation runs: 'sodium-native', or '@noble/ciphers' where the addon cannot load (or is turned off). */
export type CipherImplementation = 'sodium-native' | '@noble/ciphers'

function loadSodium (): Sodium | undefined {
  try {
    const sodium = createRequire(import.meta.url)('sodium-native') as Partial<Sodium>
    return typeof sodium.crypto_stream_xor_init === 'function' ? sodium as Sodium : undefined
  } catch {
    return undefined
  }
}

let sodium: Sodium | undefined | null = null

/** sodium-native, loaded on first use (`rr record` and `rr search` never need it). */
function getSodium (): Sodium | undefined {
  if (sodium === null) sodium = loadSodium()
  return sodium
}

function checkInit (nonce: Uint8Array, key: Uint8Array): void {
  if (nonce.length !== nonceBytes) throw new RangeError(`XSalsa20 nonce must be ${nonceBytes} bytes, got ${nonce.length}`)
  if (key.length !== keyBytes) throw new RangeError(`XSalsa20 key must be ${keyBytes} bytes, got ${key.length}`)
}

/** libsodium's crypto_stream_xor_* state machine: it keeps the partial-block position itself. */
export class SodiumXSalsa20 implements StreamCipher {
  #state: Uint8Array | undefined
  readonly #sodium: Sodium

  constructor (nonce: Uint8Array, key: Uint8Array) {
    checkInit(nonce, key)
    const loaded = getSodium()
    if (loaded == null) throw new Error('sodium-native is not available')
    this.#sodium = loaded
    this.#state = new Uint8Array(loaded.crypto_stream_xor_STATEBYTES)
    loaded.crypto_stream_xor_init(this.#state, nonce, key)
  }

  update (input: Uint8Array, output: Uint8Array = new Uint8Array(input.length)): Uint8Array {
    if (this.#state == null) throw new Error('cipher already finalized')
    if (input.length === 0) return output
    this.#sodium.crypto_stream_xor_update(this.#state, output.subarray(0, input.length), input)
    return output
  }

  finalize (): void {
    if (this.#state == null) return
    this.#sodium.crypto_stream_xor_final(this.#state)
    this.#state = undefined
  }
}

/** @noble/ciphers has no streaming state: the block counter and the offset inside the block are kept here. */
export class NobleXSalsa20 implements StreamCipher {
  #key: Uint8Array | undefined
  readonly #nonce: Uint8Array
  #position = 0

  constructor (nonce: Uint8Array, key: Uint8Array) {
    checkInit(nonce, key)
    this.#nonce = Uint8Array.from(nonce)
    this.#key = Uint8Array.from(key)
  }

  update (input: Uint8Array, output: Uint8Array = new Uint8Array(input.length)): Uint8Array {
    if (this.#key == null) throw new Error('cipher already finalized')
    if (input.length === 0) return output
    const offset = this.#position % blockBytes
    const counter = Math.floor(this.#position / blockBytes)
    const padded = new Uint8Array(offset + input.length)
    padded.set(input, offset)
    const xored = xorStream(this.#key, this.#nonce, padded, undefined, counter)
    output.set(xored.subarray(offset))
    this.#position += input.length
    return output
  }

  finalize (): void {
    this.#key?.fill(0)
    this.#key = undefined
  }
}

/**
 * Which implementation `createXSalsa20` uses. `RUSTORY_XSALSA20=noble` (read by src/config and passed in as
 * `preferNoble`) forces the pure-JS one, for tests and for a platform whose addon misbehaves.
 */
export function cipherImplementation (preferNoble = false): CipherImplementation {
  return !preferNoble && getSodium() != null ? 'sodium-native' : '@noble/ciphers'
}

export function createXSalsa20 (nonce: Uint8Array, key: Uint8Array, implementation: CipherImplementation = cipherImplementation()): StreamCipher {
  return implementation === 'sodium-native' ? new SodiumXSalsa20(nonce, key) : new NobleXSalsa20(nonce, key)
}
