/**
 * The tracker client: register this peer, list the others. Transient failures (network, timeouts, HTTP
 * 5xx/429/408) are retried with backoff and growing timeouts (retry.ts); a refused token or a refused request is a
 * permanent TrackerError at once. Answers are validated, never trusted.
 */
import { readAllCapped } from '../protocol/framing.js'
import { MessageTooLargeError } from '../protocol/errors.js'
import { attemptTimeoutMs, decideRetry, defaultRetryPolicy, parseRetryAfter, type AttemptOutcome, type RetryPolicy } from './retry.js'
import { registrationSignatureProblem } from './signature.js'
import { parseListPeersResponse, parseRegisterResponse, TrackerError, type PeerRecord, type RegisterRequest, type RegisterResponse } from './types.js'
import { dayMs } from '../core/units.js'

const KiB = 1024
const MiB = 1024 * KiB

/** Caps on what the client reads back. */
const maxSmallAnswerBytes = 64 * KiB
const maxListAnswerBytes = 48 * MiB

export interface TrackerRequestOptions {
  /** Sent as `Authorization: Bearer <token>`. @default undefined */
  token?: string
  /** Aborts the call, retries included. */
  signal?: AbortSignal
  /** @default defaultRetryPolicy (3 attempts, 2/4/8 s timeouts) */
  policy?: Partial<RetryPolicy>
  /** Jitter source, [0, 1). @default Math.random */
  random?: () => number
  /** Called before each retry, for logs. */
  onRetry?: (info: { attempt: number, delayMs: number, reason: string }) => void
}

export interface ListPeersOptions extends TrackerRequestOptions {
  /** Only this user's peers: asked of the tracker, and checked again on every record it returns. */
  userId?: string
  /** Peers taken from one answer at most (newest first), so a flooded listing cannot send us dialing hundreds. @default 32 */
  maxPeers?: number
  /** Called once per answer with what was dropped and why, for logs. */
  onDropped?: (info: { count: number, reason: string }) => void
}

/** Whether an address leads to `peerId` (its last /p2p/ is that peer, or it names none and the caller adds it). Pure. */
export function addrLeadsTo (addr: string, peerId: string): boolean {
  const parts = addr.split('/p2p-circuit')
  const tail = parts[parts.length - 1]!
  const ids = [...tail.matchAll(/\/p2p\/([^/]+)/g)].map((m) => m[1])
  if (ids.length === 0) return parts.length === 1 || tail === ''
  return ids[ids.length - 1] === peerId
}

/**
 * What a client keeps from a listing: records of this user only, whose signature (when present) verifies, with
 * only the addresses that lead to the record's own PeerId, at most `maxPeers`. The tracker is not trusted for any
 * of it.
 */
export async function acceptedPeers (peers: PeerRecord[], options: { userId?: string, maxPeers?: number, nowMs?: number }): Promise<{ peers: PeerRecord[], dropped: Map<string, number> }> {
  const dropped = new Map<string, number>()
  const drop = (reason: string): void => { dropped.set(reason, (dropped.get(reason) ?? 0) + 1) }
  const out: PeerRecord[] = []
  const max = options.maxPeers ?? 32
  for (const peer of peers) {
    if (options.userId != null && peer.meta.user_id !== options.userId) {
      drop('another user_id')
      continue
    }
    if (peer.sig != null) {
      // A listing is up to a ttl old, so the clock window here is wide: the signature itself is what counts.
      const problem = await registrationSignatureProblem(peer, { ...(options.nowMs != null ? { nowMs: options.nowMs } : {}), maxClockSkewMs: dayMs })
      if (problem != null) {
        drop('a signature that does not match')
        continue
      }
    }
    const addrs = peer.addrs.filter((a) => addrLeadsTo(a, peer.peer_id))
    if (addrs.length < peer.addrs.length) drop('addresses of another PeerId')
    if (out.length >= max) {
      drop(`over ${max} peers in one answer`)
      continue
    }
    out.push({ ...peer, addrs })
  }
  return { peers: out, dropped }
}

/** `http://host:port[/prefix]` without a trailing slash; a non-HTTP URL is a permanent TrackerError. */
export function normalizeTrackerUrl (url: string): string {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new TrackerError(`tracker URL ${JSON.stringify(url)} is not a URL (expected e.g. http://127.0.0.1:8850)`, url, { permanent: true })
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new TrackerError(`tracker URL ${JSON.stringify(url)} must start with http:// or https://`, url, { permanent: true })
  }
  return `${parsed.origin}${parsed.pathname.replace(/\/+$/, '')}`
}

interface Attempt {
  outcome: AttemptOutcome
  /** Parsed JSON when the outcome is ok, or the server's error body on a status outcome. */
  body?: unknown
  reason: string
}

function errorReason (body: unknown, status: number): string {
  if (body != null && typeof body === 'object' && typeof (body as { error?: unknown }).error === 'string') {
    return (body as { error: string }).error.slice(0, 300)
  }
  return `HTTP ${status}`
}

function transportReason (err: unknown): string {
  const cause = (err as { cause?: { code?: string, message?: string } }).cause
  if (cause?.code != null) return `${cause.code}${cause.message != null ? ` (${cause.message})` : ''}`
  return err instanceof Error ? err.message : String(err)
}

async function attemptOnce (url: string, init: RequestInit, timeoutMs: number, capBytes: number, signal?: AbortSignal): Promise<Attempt> {
  const timeout = AbortSignal.timeout(timeoutMs)
  const combined = signal != null ? AbortSignal.any([signal, timeout]) : timeout
  let res: Response
  try {
    res = await fetch(url, { ...init, signal: combined, redirect: 'error' })
  } catch (err) {
    if (signal?.aborted === true) return { outcome: { kind: 'aborted' }, reason: 'aborted' }
    if (timeout.aborted) return { outcome: { kind: 'timeout' }, reason: `no answer within ${timeoutMs} ms` }
    return { outcome: { kind: 'transport' }, reason: transportReason(err) }
  }
  let bytes: Uint8Array
  try {
    bytes = res.body == null ? new Uint8Array() : await readAllCapped(res.body as unknown as AsyncIterable<Uint8Array>, capBytes, 'tracker answer')
  } catch (err) {
    if (signal?.aborted === true) return { outcome: { kind: 'aborted' }, reason: 'aborted' }
    if (timeout.aborted) return { outcome: { kind: 'timeout' }, reason: `answer not complete within ${timeoutMs} ms` }
    if (err instanceof MessageTooLargeError) return { outcome: { kind: 'invalid' }, reason: `answer larger than ${capBytes} bytes` }
    return { outcome: { kind: 'transport' }, reason: transportReason(err) }
  }
  let body: unknown
  try {
    body = JSON.parse(Buffer.from(bytes).toString('utf8'))
  } catch {
    body = undefined
  }
  if (!res.ok) {
    const retryAfterSec = parseRetryAfter(res.headers.get('retry-after'))
    return { outcome: { kind: 'status', status: res.status, ...(retryAfterSec != null ? { retryAfterSec } : {}) }, body, reason: errorReason(body, res.status) }
  }
  if (body === undefined) return { outcome: { kind: 'invalid' }, reason: 'answer is not JSON' }
  return { outcome: { kind: 'ok' }, body, reason: 'ok' }
}

async function sleep (ms: number, signal?: AbortSignal): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(done, ms)
    function done (): void {
      clearTimeout(timer)
      signal?.removeEventListener('abort', done)
      resolve()
    }
    signal?.addEventListener('abort', done, { once: true })
  })
}

/** One tracker call with the retry policy; returns the parsed JSON of a 2xx answer or throws TrackerError. */
async function call (base: string, path: string, init: RequestInit, capBytes: number, options: TrackerRequestOptions): Promise<unknown> {
  const root = normalizeTrackerUrl(base)
  const policy: RetryPolicy = { ...defaultRetryPolicy, ...options.policy }
  const random = options.random ?? Math.random
  const headers: Record<string, string> = { accept: 'application/json', ...(init.headers as Record<string, string> | undefined) }
  if (options.token != null && options.token !== '') headers.authorization = `Bearer ${options.token}`
  for (let attempt = 1; ; attempt++) {
    const result = await attemptOnce(`${root}${path}`, { ...init, headers }, attemptTimeoutMs(attempt, policy), capBytes, options.signal)
    const { outcome } = result
    if (outcome.kind === 'ok') return result.body
    if (outcome.kind === 'aborted') throw new TrackerError(`tracker ${root}: request aborted`, root, { permanent: false, cause: options.signal?.reason })
    if (outcome.kind === 'status' && outcome.status === 401) {
      throw new TrackerError(`tracker ${root} refused the token (401): check tracker_token / RUSTORY_TRACKER_TOKEN`, root, { permanent: true, status: 401 })
    }
    if (outcome.kind === 'invalid') {
      throw new TrackerError(`tracker ${root} answered something that is not a rustory tracker: ${result.reason}`, root, { permanent: true })
    }
    const decision = decideRetry(outcome, attempt, random(), policy)
    if (!decision.retry) {
      if (outcome.kind === 'status' && outcome.status < 500 && outcome.status !== 429 && outcome.status !== 408) {
        throw new TrackerError(`tracker ${root} refused the request (${outcome.status}): ${result.reason}`, root, { permanent: true, status: outcome.status })
      }
      const what = outcome.kind === 'status' ? `HTTP ${outcome.status}: ${result.reason}` : result.reason
      throw new TrackerError(`tracker ${root} failed after ${attempt} attempt${attempt === 1 ? '' : 's'}: ${what}`, root, {
        permanent: false,
        ...(outcome.kind === 'status' ? { status: outcome.status } : {})
      })
    }
    options.onRetry?.({ attempt, delayMs: decision.delayMs, reason: result.reason })
    await sleep(decision.delayMs, options.signal)
    if (options.signal?.aborted === true) throw new TrackerError(`tracker ${root}: request aborted`, root, { permanent: false, cause: options.signal.reason })
  }
}

function invalid (root: string): (msg: string) => never {
  return (msg: string): never => {
    throw new TrackerError(`tracker ${root} answered something that is not a rustory tracker: ${msg}`, root, { permanent: true })
  }
}

/** `POST /api/v1/peers/register`. */
export async function register (url: string, body: RegisterRequest, options: TrackerRequestOptions = {}): Promise<RegisterResponse> {
  const answer = await call(url, '/api/v1/peers/register', {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body)
  }, maxSmallAnswerBytes, options)
  return parseRegisterResponse(answer, invalid(normalizeTrackerUrl(url)))
}

/** `GET /api/v1/peers[?user_id=U]`: the live registrations. Malformed peers in the answer are dropped. */
export async function listPeers (url: string, options: ListPeersOptions = {}): Promise<PeerRecord[]> {
  const query = options.userId != null && options.userId !== '' ? `?user_id=${encodeURIComponent(options.userId)}` : ''
  const answer = await call(url, `/api/v1/peers${query}`, { method: 'GET' }, maxListAnswerBytes, options)
  const parsed = parseListPeersResponse(answer, invalid(normalizeTrackerUrl(url))).peers
  const { peers, dropped } = await acceptedPeers(parsed, { ...(options.userId != null && options.userId !== '' ? { userId: options.userId } : {}), ...(options.maxPeers != null ? { maxPeers: options.maxPeers } : {}) })
  for (const [reason, count] of dropped) options.onDropped?.({ count, reason })
  return peers
}

/** `GET /api/v1/ping`. */
export async function ping (url: string, options: TrackerRequestOptions = {}): Promise<void> {
  const answer = await call(url, '/api/v1/ping', { method: 'GET' }, maxSmallAnswerBytes, options)
  if (answer == null || typeof answer !== 'object' || (answer as { ok?: unknown }).ok !== true) invalid(normalizeTrackerUrl(url))('ping answer lacks ok: true')
}

/** The same calls bound to one tracker URL and token. */
export class TrackerClient {
  readonly url: string
  readonly #defaults: TrackerRequestOptions

  constructor (url: string, defaults: TrackerRequestOptions = {}) {
    this.url = normalizeTrackerUrl(url)
    this.#defaults = defaults
  }

  async register (body: RegisterRequest, options: TrackerRequestOptions = {}): Promise<RegisterResponse> {
    return await register(this.url, body, { ...this.#defaults, ...options })
  }

  async listPeers (options: ListPeersOptions = {}): Promise<PeerRecord[]> {
    return await listPeers(this.url, { ...this.#defaults, ...options })
  }

  async ping (options: TrackerRequestOptions = {}): Promise<void> {
    await ping(this.url, { ...this.#defaults, ...options })
  }
}
