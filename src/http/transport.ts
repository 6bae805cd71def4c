/**
 * HttpTransport: the SyncTransport of the HTTP debug transport, so `rr http-sync` runs the very same sync
 * engine as `rr p2p-sync`. Same caps as the libp2p protocols, enforced while reading.
 */
import { maxPullResponseBytes, maxPushRequestBytes, maxPushResponseBytes } from '../protocol/constants.js'
import { DialError, MessageTooLargeError, ProtocolError, SyncError } from '../protocol/errors.js'
import { readAllCapped } from '../protocol/framing.js'
import { decodeJson, parsePushAck, type PushAck, type SyncPull } from '../protocol/messages.js'
import type { DialPath, SyncTransport } from '../protocol/transport.js'
import { secondMs } from '../core/units.js'

const KiB = 1024

export interface HttpTransportInit {
  /**
   * Time to get the answer's headers, connect included (fetch cannot time the connect alone). The server builds a
   * whole page before answering, so this also covers a large page's export. @default 15 s
   */
  connectTimeoutMs?: number
  /** Time for a whole request, body included. @default 120 s */
  requestTimeoutMs?: number
  /** The server's token (http_token), sent as Authorization: Bearer. @default none */
  token?: string
}

/** `http://host:port[/prefix]` without a trailing slash, query or fragment: the peer's identity for peer_state. */
export function normalizeBaseUrl (url: string): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new SyncError(`--url ${JSON.stringify(url)} is not a URL (expected e.g. http://127.0.0.1:8860)`, { permanent: true })
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new SyncError(`--url ${JSON.stringify(url)} must start with http:// or https://`, { permanent: true })
  }
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`
}

function causeCode (err: unknown): string | undefined {
  const cause = (err as { cause?: { code?: unknown } }).cause
  return typeof cause?.code === 'string' ? cause.code : undefined
}

export class HttpTransport implements SyncTransport {
  readonly peerId: string
  readonly remoteAddr: string
  readonly path: DialPath = 'http'
  readonly #connectTimeoutMs: number
  readonly #requestTimeoutMs: number
  readonly #closed = new AbortController()
  readonly #auth: Record<string, string>

  constructor (baseUrl: string, init: HttpTransportInit = {}) {
    this.#auth = init.token != null && init.token !== '' ? { authorization: `Bearer ${init.token}` } : {}
    this.peerId = normalizeBaseUrl(baseUrl)
    this.remoteAddr = this.peerId
    this.#connectTimeoutMs = init.connectTimeoutMs ?? 15 * secondMs
    this.#requestTimeoutMs = init.requestTimeoutMs ?? 120 * secondMs
  }

  /** GET /api/v1/entries: the SyncBatch bytes as received, at most maxPullResponseBytes. */
  async pull (request: SyncPull, signal?: AbortSignal): Promise<Uint8Array> {
    const url = `${this.peerId}/api/v1/entries?cursor=${request.cursor}&limit=${request.limit}`
    return await this.#exchange(url, { method: 'GET', headers: this.#auth }, maxPullResponseBytes, 'SyncBatch', signal)
  }

  /** POST /api/v1/entries with an EntriesPush document; refuses locally what the server would refuse. */
  async push (payload: Uint8Array, signal?: AbortSignal): Promise<PushAck> {
    if (payload.byteLength > maxPushRequestBytes) throw new MessageTooLargeError('EntriesPush', maxPushRequestBytes)
    const bytes = await this.#exchange(`${this.peerId}/api/v1/entries`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...this.#auth },
      body: payload
    }, maxPushResponseBytes, 'PushAck', signal)
    return parsePushAck(decodeJson(bytes, 'PushAck'))
  }

  async close (): Promise<void> {
    this.#closed.abort(new SyncError('transport closed'))
  }

  async #exchange (url: string, init: RequestInit, capBytes: number, what: string, signal?: AbortSignal): Promise<Uint8Array> {
    const connectTimeout = new AbortController()
    const timer = setTimeout(() => connectTimeout.abort(), this.#connectTimeoutMs)
    const total = AbortSignal.timeout(this.#requestTimeoutMs)
    const signals = [this.#closed.signal, connectTimeout.signal, total, ...(signal != null ? [signal] : [])]
    const combined = AbortSignal.any(signals)
    const fail = (err: unknown, stage: string): SyncError => {
      if (signal?.aborted === true) return new SyncError(`${what} from ${this.peerId}: aborted`, { cause: err })
      if (this.#closed.signal.aborted) return new SyncError(`${what} from ${this.peerId}: transport closed`, { cause: err })
      if (connectTimeout.signal.aborted) return new DialError(`cannot reach ${this.peerId}: no answer within ${this.#connectTimeoutMs} ms`, { cause: err })
      if (total.aborted) return new SyncError(`${what} from ${this.peerId}: not complete within ${this.#requestTimeoutMs} ms`, { cause: err })
      const code = causeCode(err)
      if (stage === 'connect') {
        return new DialError(`cannot reach ${this.peerId}: ${code ?? (err as Error).message}`, { cause: err })
      }
      return new SyncError(`${what} from ${this.peerId}: connection lost (${code ?? (err as Error).message})`, { cause: err })
    }
    let res: Response
    try {
      res = await fetch(url, { ...init, signal: combined, redirect: 'error' })
    } catch (err) {
      throw fail(err, 'connect')
    } finally {
      clearTimeout(timer)
    }
    const cap = res.ok ? capBytes : 64 * KiB
    let bytes: Uint8Array
    try {
      bytes = res.body == null ? new Uint8Array() : await readAllCapped(res.body as unknown as AsyncIterable<Uint8Array>, cap, res.ok ? what : `${what} error answer`)
    } catch (err) {
      if (err instanceof MessageTooLargeError) throw err
      throw fail(err, 'read')
    }
    if (res.ok) return bytes
    let reason = `HTTP ${res.status}`
    try {
      const doc = JSON.parse(Buffer.from(bytes).toString('utf8')) as { error?: unknown }
      if (typeof doc.error === 'string') reason = `${reason}: ${doc.error.slice(0, 500)}`
    } catch {}
    if (res.status === 413) throw new MessageTooLargeError(what === 'PushAck' ? 'EntriesPush' : `${what} request`, what === 'PushAck' ? maxPushRequestBytes : 64 * KiB)
    if (res.status === 400 && what === 'PushAck') return bytes // a PushAck {ok:false, error}: parsePushAck reports it
    if (res.status >= 500 || res.status === 429 || res.status === 408) throw new SyncError(`${this.peerId} failed the request: ${reason}`)
    throw new ProtocolError(`${this.peerId} refused the request: ${reason}`)
  }
}
