/**
 * The tracker's wire types and their strict validation, used by the server (requests) and by the client
 * (answers, which it never trusts). Pure.
 */
import { SyncError } from '../protocol/errors.js'

const KiB = 1024

export interface PeerMeta {
  device_id: string
  hostname: string
  user_id: string
  version: string
}

/** `POST /api/v1/peers/register` body. */
export interface RegisterRequest {
  peer_id: string
  addrs: string[]
  meta: PeerMeta
  /** When the peer signed this registration (ms since the epoch); with `sig`, absent from unsigned (old) peers. */
  signed_at_ms?: number
  /** base64 Ed25519 signature by the peer's identity key over registrationSigningBytes(). */
  sig?: string
}

/** A registration with its signature (what a current peer sends). */
export type SignedRegisterRequest = RegisterRequest & { signed_at_ms: number, sig: string }

/** `POST /api/v1/peers/register` answer. */
export interface RegisterResponse {
  ok: true
  ttl_sec: number
  /** The caller's address as the tracker saw it: its public IP behind NAT. */
  observed_addr: string
}

/** One element of `GET /api/v1/peers`. */
export interface PeerRecord {
  peer_id: string
  addrs: string[]
  meta: PeerMeta
  last_seen_unix: number
  /** Present when the registration was signed: the client checks it again itself (it never trusts the tracker). */
  signed_at_ms?: number
  sig?: string
}

/** Domain separation: a registration signature can never be mistaken for a signature over anything else. */
const signingPrefix = 'rustory-tracker-register/1\n'

/**
 * The bytes a peer signs: everything a registration claims, in a fixed order (JSON of an array, so no field can
 * bleed into another). Pure.
 */
export function registrationSigningBytes (request: Pick<RegisterRequest, 'peer_id' | 'addrs' | 'meta'>, signedAtMs: number): Uint8Array {
  const { meta } = request
  return new TextEncoder().encode(signingPrefix + JSON.stringify([request.peer_id, request.addrs, meta.user_id, meta.device_id, meta.hostname, meta.version, signedAtMs]))
}

export interface ListPeersResponse {
  peers: PeerRecord[]
}

/** Register bodies above this are refused with 413. */
export const maxRegisterBodyBytes = 64 * KiB
export const maxAddrs = 64
export const maxAddrLength = 512
export const maxMetaFieldLength = 256
/** Ed25519 PeerIds are 52 characters, RSA ones 46, secp256k1 53; leave room without allowing junk. */
export const minPeerIdLength = 32
export const maxPeerIdLength = 128

const base58btc = /^[1-9A-HJ-NP-Za-km-z]+$/

/**
 * A tracker refused or failed a request. `permanent` says whether retrying can help (a refused token cannot;
 * an unreachable tracker can, later).
 */
export class TrackerError extends SyncError {
  static override readonly name = 'TrackerError'
  override readonly name = 'TrackerError'
  constructor (message: string, readonly url: string, options: { permanent?: boolean, status?: number, cause?: unknown } = {}) {
    super(message, options)
    this.status = options.status
  }

  /** The HTTP status, when the tracker answered. */
  readonly status: number | undefined
}

/** A request the tracker refuses with 400 and this reason. */
export class InvalidRequestError extends Error {
  static override readonly name = 'InvalidRequestError'
  override readonly name = 'InvalidRequestError'
}

/** Whether a string looks like a PeerId in its usual base58btc form (shape and length, not the multihash). */
export function isPlausiblePeerId (value: unknown): value is string {
  return typeof value === 'string' && value.length >= minPeerIdLength && value.length <= maxPeerIdLength && base58btc.test(value)
}

function isObject (value: unknown): value is Record<string, unknown> {
  return value != null && typeof value === 'object' && !Array.isArray(value)
}

function checkMeta (value: unknown, where: string, fail: (msg: string) => never): PeerMeta {
  if (!isObject(value)) fail(`${where} must be an object with device_id, hostname, user_id, version`)
  const field = (name: keyof PeerMeta): string => {
    const v = value[name]
    if (typeof v !== 'string') fail(`${where}.${name} must be a string`)
    if (v.length > maxMetaFieldLength) fail(`${where}.${name} is longer than ${maxMetaFieldLength} characters`)
    return v
  }
  return { device_id: field('device_id'), hostname: field('hostname'), user_id: field('user_id'), version: field('version') }
}

function checkAddrs (value: unknown, where: string, fail: (msg: string) => never): string[] {
  if (!Array.isArray(value)) fail(`${where} must be an array of multiaddr strings`)
  if (value.length > maxAddrs) fail(`${where} has ${value.length} addresses; at most ${maxAddrs} are accepted`)
  value.forEach((a, i) => {
    if (typeof a !== 'string') fail(`${where}[${i}] must be a string`)
    if (!a.startsWith('/')) fail(`${where}[${i}] is not a multiaddr (must start with "/")`)
    if (a.length > maxAddrLength) fail(`${where}[${i}] is longer than ${maxAddrLength} characters`)
  })
  return [...new Set(value as string[])]
}

function checkPeerId (value: unknown, where: string, fail: (msg: string) => never): string {
  if (typeof value !== 'string') fail(`${where} must be a string`)
  if (!isPlausiblePeerId(value)) fail(`${where} is not a PeerId (base58btc, ${minPeerIdLength}–${maxPeerIdLength} characters)`)
  return value
}

function requestFail (msg: string): never {
  throw new InvalidRequestError(msg)
}

/** An Ed25519 signature in base64: 64 bytes. */
const maxSigLength = 128

function checkSignature (body: Record<string, unknown>, fail: (msg: string) => never): { signed_at_ms: number, sig: string } | undefined {
  const { signed_at_ms: at, sig } = body
  if (at === undefined && sig === undefined) return undefined
  if (typeof at !== 'number' || !Number.isSafeInteger(at) || at < 0) fail('signed_at_ms must be a non-negative integer (ms since the epoch) beside sig')
  if (typeof sig !== 'string' || sig.length === 0 || sig.length > maxSigLength || !/^[A-Za-z0-9+/]+={0,2}$/.test(sig)) fail('sig must be a base64 signature beside signed_at_ms')
  return { signed_at_ms: at, sig }
}

/** Validates a register body (already JSON-parsed); throws InvalidRequestError with the reason. */
export function parseRegisterRequest (value: unknown): RegisterRequest {
  if (!isObject(value)) requestFail('body must be a JSON object {peer_id, addrs, meta, signed_at_ms, sig}')
  const body = value as Record<string, unknown>
  if (!('peer_id' in body)) requestFail('peer_id is missing')
  if (!('addrs' in body)) requestFail('addrs is missing')
  if (!('meta' in body)) requestFail('meta is missing')
  return {
    peer_id: checkPeerId(body.peer_id, 'peer_id', requestFail),
    addrs: checkAddrs(body.addrs, 'addrs', requestFail),
    meta: checkMeta(body.meta, 'meta', requestFail),
    ...checkSignature(body, requestFail)
  }
}

/** Client side: validates a register answer. */
export function parseRegisterResponse (value: unknown, fail: (msg: string) => never): RegisterResponse {
  if (!isObject(value)) fail('register answer is not a JSON object')
  if (value.ok !== true) fail('register answer lacks ok: true')
  const ttl = value.ttl_sec
  if (typeof ttl !== 'number' || !Number.isSafeInteger(ttl) || ttl < 1) fail('register answer: ttl_sec must be a positive integer')
  const observed = value.observed_addr
  if (observed !== undefined && (typeof observed !== 'string' || !observed.startsWith('/') || observed.length > maxAddrLength)) {
    fail('register answer: observed_addr must be a multiaddr string')
  }
  return { ok: true, ttl_sec: ttl, observed_addr: (observed as string | undefined) ?? '' }
}

/**
 * Client side: validates a peer list. A malformed peer is dropped (one bad registration must not hide the
 * others); a malformed envelope fails the whole answer.
 */
export function parseListPeersResponse (value: unknown, fail: (msg: string) => never): { peers: PeerRecord[], dropped: number } {
  if (!isObject(value) || !Array.isArray(value.peers)) fail('peer list answer is not {peers: [...]}')
  const peers: PeerRecord[] = []
  let dropped = 0
  for (const item of (value as { peers: unknown[] }).peers) {
    try {
      if (!isObject(item)) requestFail('peer is not an object')
      const seen = item.last_seen_unix
      if (typeof seen !== 'number' || !Number.isSafeInteger(seen) || seen < 0) requestFail('last_seen_unix must be a non-negative integer')
      peers.push({
        peer_id: checkPeerId(item.peer_id, 'peer_id', requestFail),
        addrs: checkAddrs(item.addrs, 'addrs', requestFail),
        meta: checkMeta(item.meta, 'meta', requestFail),
        last_seen_unix: seen as number,
        ...checkSignature(item, requestFail)
      })
    } catch (err) {
      if (!(err instanceof InvalidRequestError)) throw err
      dropped++
    }
  }
  return { peers, dropped }
}

/**
 * The caller's address as a multiaddr: `/ip4/<ip>/tcp/<port>` or `/ip6/<ip>/tcp/<port>`; an IPv4-mapped IPv6
 * address (`::ffff:1.2.3.4`, what a dual-stack socket reports) becomes /ip4. A zone (`%eth0`) is dropped. Pure.
 */
export function observedAddr (address: string | undefined, port: number | undefined): string | undefined {
  if (address == null || address === '' || port == null) return undefined
  const mapped = /^::ffff:(\d{1,3}(?:\.\d{1,3}){3})$/i.exec(address)
  if (mapped != null) return `/ip4/${mapped[1]}/tcp/${port}`
  if (/^\d{1,3}(?:\.\d{1,3}){3}$/.test(address)) return `/ip4/${address}/tcp/${port}`
  if (address.includes(':')) return `/ip6/${address.replace(/%.*$/, '')}/tcp/${port}`
  return undefined
}
