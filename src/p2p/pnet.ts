/**
 * rustory's own libp2p connection protector for the private network: the pnet v1 format of @libp2p/pnet, go-libp2p
 * and rust-libp2p, so it interoperates with them (tested byte for byte against @libp2p/pnet's own protector).
 *
 * pnet v1 on the wire: each side sends a random 24-byte nonce first, then every later byte it sends is XORed with
 * the XSalsa20 keystream of (its own nonce, the 32-byte key from the swarm key file); it deciphers what it receives
 * with the keystream of the remote nonce. Noise then runs inside, so pnet only keeps out whoever lacks the key.
 *
 * It replaces @libp2p/pnet's `preSharedKey` because that package's cipher, xsalsa20@1.2.0 (WASM), breaks after large
 * writes (LIBP2P.md), and the npm `overrides` that swapped it were ignored by `npm install -g`. The cipher here is
 * libsodium through sodium-native, or @noble/ciphers where the addon does not load (src/p2p/xsalsa20.ts).
 */
import { InvalidParametersError } from '@libp2p/interface'
import type { AbortOptions, ConnectionProtector, Logger, MessageStream } from '@libp2p/interface'
import { AbstractMultiaddrConnection, byteStream } from '@libp2p/utils'
import type { SendResult } from '@libp2p/utils'
import type { Multiaddr } from '@multiformats/multiaddr'
import { RustoryError } from '../core/errors.js'
import { cipherImplementation, createXSalsa20, keyBytes, nonceBytes, type CipherImplementation, type StreamCipher } from './xsalsa20.js'
import { secondMs } from '../core/units.js'

/** A swarm key file whose content is not a pnet v1 key. */
export class InvalidSwarmKeyError extends RustoryError {
  static override readonly name = 'InvalidSwarmKeyError'
  override readonly name = 'InvalidSwarmKeyError'
  constructor (message: string) {
    super(message, { exitCode: 2, permanent: true })
  }
}

export interface PrivateNetworkInit {
  /** The swarm key file's bytes: `/key/swarm/psk/1.0.0/`, `/base16/`, 64 hex digits (LF or CRLF). */
  psk: Uint8Array
  /** How long the nonce exchange may take when libp2p passes no signal. @default 1 s (as @libp2p/pnet) */
  timeoutMs?: number
  /** The cipher behind it. @default 'sodium-native' when the addon loads, else '@noble/ciphers' */
  implementation?: CipherImplementation
}

/** The 32 key bytes of a pnet v1 swarm key file (the same checks as @libp2p/pnet's decodeV1PSK). */
export function decodeSwarmKey (file: Uint8Array): Uint8Array {
  const [tag, codec, hex] = Buffer.from(file).toString('utf8').split(/\r\n|\r|\n/)
  if (tag !== '/key/swarm/psk/1.0.0/' || codec !== '/base16/' || hex == null || !/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new InvalidSwarmKeyError('not a pnet v1 swarm key: expected /key/swarm/psk/1.0.0/, /base16/ and 64 hex digits')
  }
  const key = Uint8Array.from(Buffer.from(hex, 'hex'))
  if (key.length !== keyBytes) throw new InvalidSwarmKeyError(`swarm key must be ${keyBytes} bytes`)
  return key
}

/** What libp2p hands `sendData` (uint8arraylist's own type, from the version @libp2p/utils uses). */
type Outgoing = Parameters<AbstractMultiaddrConnection['sendData']>[0]

interface BoxedConnectionInit {
  inner: MessageStream
  remoteAddr: Multiaddr
  direction: MessageStream['direction']
  log: Logger
  inbound: StreamCipher
  outbound: StreamCipher
}

/** The protected connection: bytes out are enciphered before the inner connection sends them, bytes in deciphered. */
class BoxedConnection extends AbstractMultiaddrConnection {
  readonly #inner: MessageStream
  readonly #inbound: StreamCipher
  readonly #outbound: StreamCipher

  constructor (init: BoxedConnectionInit) {
    super({ remoteAddr: init.remoteAddr, direction: init.direction, log: init.log })
    this.#inner = init.inner
    this.#inbound = init.inbound
    this.#outbound = init.outbound
    this.#inner.addEventListener('message', (evt) => {
      const data = evt.data
      if (data instanceof Uint8Array) {
        this.onData(this.#inbound.update(data))
      } else {
        for (const buf of data) this.onData(this.#inbound.update(buf))
      }
    })
    this.#inner.addEventListener('drain', () => { this.onMuxerDrain() })
    this.#inner.addEventListener('close', (evt) => {
      if (evt.error == null) {
        this.onTransportClosed()
      } else if (evt.local) {
        this.abort(evt.error)
      } else {
        this.onRemoteReset()
      }
    })
  }

  async sendClose (options?: AbortOptions): Promise<void> {
    await this.#inner.close(options)
  }

  sendData (data: Outgoing): SendResult {
    return { sentBytes: data.byteLength, canSendMore: this.#inner.send(this.#outbound.update(data.subarray())) }
  }

  sendReset (err: Error): void {
    this.#inner.abort(err)
  }

  sendPause (): void {
    this.#inner.pause()
  }

  sendResume (): void {
    this.#inner.resume()
  }
}

export class PrivateNetworkProtector implements ConnectionProtector {
  readonly [Symbol.toStringTag] = '@rustory/pnet'
  readonly implementation: CipherImplementation
  readonly #key: Uint8Array
  readonly #timeoutMs: number

  constructor (init: PrivateNetworkInit) {
    this.#key = decodeSwarmKey(init.psk)
    this.#timeoutMs = init.timeoutMs ?? secondMs
    this.implementation = init.implementation ?? cipherImplementation()
  }

  /** Exchanges nonces, then wraps the connection so everything after them is enciphered. */
  async protect (connection: MessageStream, options?: AbortOptions): Promise<MessageStream> {
    if (connection == null) throw new InvalidParametersError('No connection for the handshake provided')
    const log = connection.log.newScope('pnet')
    const localNonce = crypto.getRandomValues(new Uint8Array(nonceBytes))
    const opts = options ?? { signal: AbortSignal.timeout(this.#timeoutMs) }
    const bytes = byteStream(connection)
    const [remote] = await Promise.all([bytes.read({ bytes: nonceBytes, ...opts }), bytes.write(localNonce, opts)])
    const remoteNonce = remote.subarray()
    log('exchanged nonces')
    const inner = bytes.unwrap()
    const remoteAddr = (inner as Partial<{ remoteAddr: Multiaddr }>).remoteAddr
    if (remoteAddr == null) throw new InvalidParametersError('pnet protects connections that have a remote address')
    return new BoxedConnection({
      inner,
      remoteAddr,
      direction: inner.direction,
      log,
      inbound: createXSalsa20(remoteNonce, this.#key, this.implementation),
      outbound: createXSalsa20(localNonce, this.#key, this.implementation)
    })
  }
}

/** A libp2p `connectionProtector` factory, in the place of @libp2p/pnet's `preSharedKey({ psk })`. */
export function privateNetwork (init: PrivateNetworkInit): () => PrivateNetworkProtector {
  return () => new PrivateNetworkProtector(init)
}
