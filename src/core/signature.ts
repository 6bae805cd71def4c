/**
 * Entry signatures: the canonical bytes an origin device signs, and Ed25519 signing and verification on raw keys.
 * No I/O. libsodium (sodium-native, already loaded for the private-network cipher) when it loads, else node:crypto:
 * on this machine (2 vCPU, loaded) a verify took 95 µs with libsodium, 147 µs with node:crypto and 109 µs through
 * @libp2p/crypto (which also allocates a key object per call); signing 38 / 52 / 83 µs.
 *
 * Canonical content (docs/PROTOCOL.md, "Signed entries (2.0.0)"): the ASCII domain tag `rustory-entry-sig/1` and a
 * NUL byte, then for each field in order — entryFields, then each of optionalEntryFields that the entry has, then
 * `origin` — its name in ASCII, a NUL byte, a type byte (`s` string, `i` integer), the value's byte length as a
 * 4-byte big-endian unsigned integer, and the value: UTF-8 for strings, the decimal ASCII form for integers. `sig`
 * is never part of it.
 */
import { createPrivateKey, createPublicKey, sign as nodeSign, verify as nodeVerify, type KeyObject } from 'node:crypto'
import { createRequire } from 'node:module'
import { entryFields, optionalEntryFields, type Entry } from './entry.js'

const domainTag = Buffer.from('rustory-entry-sig/1\u0000', 'ascii')

interface Sodium {
  crypto_sign_detached: (sig: Buffer, message: Buffer, secretKey: Buffer) => void
  crypto_sign_verify_detached: (sig: Buffer, message: Buffer, publicKey: Buffer) => boolean
}

function loadSodium (): Sodium | undefined {
  try {
    return createRequire(import.meta.url)('sodium-native') as Sodium
  } catch {
    return undefined
  }
}
const sodium = loadSodium()

/** A field's name as it opens its part of the canonical bytes: the name, NUL, and the type byte (string, integer). */
interface FieldHead { name: string, s: Uint8Array, i: Uint8Array }
const fieldHead = (name: string): FieldHead => {
  const bytes = (type: number): Uint8Array => Uint8Array.from([...Buffer.from(name, 'ascii'), 0, type])
  return { name, s: bytes(0x73), i: bytes(0x69) }
}
/**
 * The fields writeCanonical writes, in their order. It reads each by name (entry.cmd, not entry[name]): V8 keeps
 * those loads monomorphic, where a loop over names went through a keyed lookup per field, a third of the writer's
 * time (measured: 200k entries in 130 against 204 ms, best of 14).
 */
const canonicalOrder = ['entry_id', 'device_id', 'user_id', 'ts', 'cmd', 'cwd', 'exit_code', 'duration_ms', 'shell', 'hostname', 'version', 'session_id'] as const
if (canonicalOrder.join() !== [...entryFields, ...optionalEntryFields].join()) {
  throw new Error('src/core/signature.ts: writeCanonical writes other fields than entry.ts lists (entryFields, optionalEntryFields)')
}
const head = Object.fromEntries(canonicalOrder.map((name) => [name, fieldHead(name)])) as Record<typeof canonicalOrder[number], FieldHead>

/**
 * The layout as native/sha256-each.c's sha256EntriesJson takes it, to write the same bytes from a received message's
 * JSON text: the domain tag, each field's name in canonicalOrder followed by a NUL, and a byte per field, 1 for an
 * optional one. The C code holds nothing of the layout itself; test/core/entry-digests.test.ts holds its output to
 * writeCanonical's.
 */
export const canonicalLayout = {
  tag: Uint8Array.from(domainTag),
  names: Uint8Array.from(Buffer.from(canonicalOrder.map((name) => `${name}\u0000`).join(''), 'ascii')),
  optional: Uint8Array.from(canonicalOrder.map((name) => (optionalEntryFields as readonly string[]).includes(name) ? 1 : 0))
}

/** The closing part of the canonical bytes under origin (name, NUL, `s`, length, value), a copy. */
export function canonicalTail (origin: string): Buffer {
  return Buffer.from(originPart(origin))
}

/** The last origin's closing part (name, NUL, `s`, length, UTF-8 value): entries come in runs of one origin. */
let lastOrigin: { origin: string, part: Buffer } | undefined
function originPart (origin: string): Buffer {
  if (lastOrigin?.origin !== origin) {
    const value = Buffer.from(origin, 'utf8')
    const part = Buffer.alloc(12 + value.length)
    part.write('origin\u0000s', 0, 'ascii')
    part.writeUInt32BE(value.length, 8)
    value.copy(part, 12)
    lastOrigin = { origin, part }
  }
  return lastOrigin.part
}

/** Where canonicalEntryView writes. */
let scratch = Buffer.allocUnsafe(64 * 1024)

/**
 * Writes the canonical bytes into a buffer this module reuses and returns them as a view of it: valid until the
 * next call (hash or copy it at once). One pass, no allocation: hashing every entry of a relayed 3.0.0 batch costs
 * this, not a signature check. Throws on a field that is neither string nor integer.
 */
export function canonicalEntryView (entry: Entry, origin: string): Buffer {
  let end = writeCanonical(entry, origin, scratch, 0)
  if (end < 0) {
    scratch = Buffer.allocUnsafe(Math.max(-end, scratch.length * 2))
    end = writeCanonical(entry, origin, scratch, 0)
  }
  return scratch.subarray(0, end)
}

/**
 * Writes the entry's canonical bytes into `out` from `at` and returns where they end; when they might not fit,
 * writes nothing and returns minus the length `out` would need. What lets many entries be laid end to end and
 * hashed in one call (src/core/entry-digests.ts). Throws on a field that is neither string nor integer.
 */
export function writeCanonical (entry: Entry, origin: string, out: Buffer, at: number): number {
  const tail = originPart(origin)
  const session = entry.session_id
  // Room for the worst case: 3 UTF-8 bytes per UTF-16 unit, 24 per integer, plus every name and length.
  const bound = at + domainTag.length + tail.length + 256 + room(entry.entry_id) + room(entry.device_id) +
    room(entry.user_id) + room(entry.ts) + room(entry.cmd) + room(entry.cwd) + room(entry.exit_code) +
    room(entry.duration_ms) + room(entry.shell) + room(entry.hostname) + room(entry.version) + (session != null ? room(session) : 0)
  if (out.length < bound) return -bound
  for (let i = 0; i < domainTag.length; i++) out[at++] = domainTag[i]!
  at = writeField(out, at, head.entry_id, entry.entry_id)
  at = writeField(out, at, head.device_id, entry.device_id)
  at = writeField(out, at, head.user_id, entry.user_id)
  at = writeField(out, at, head.ts, entry.ts)
  at = writeField(out, at, head.cmd, entry.cmd)
  at = writeField(out, at, head.cwd, entry.cwd)
  at = writeField(out, at, head.exit_code, entry.exit_code)
  at = writeField(out, at, head.duration_ms, entry.duration_ms)
  at = writeField(out, at, head.shell, entry.shell)
  at = writeField(out, at, head.hostname, entry.hostname)
  at = writeField(out, at, head.version, entry.version)
  if (session != null) at = writeField(out, at, head.session_id, session)
  for (let i = 0; i < tail.length; i++) out[at++] = tail[i]!
  return at
}

/** What a field's value can take in canonical bytes, at most. */
function room (value: unknown): number {
  return typeof value === 'string' ? 3 * value.length : 24
}

/**
 * One field's part (name, NUL, type, length, value) from `at`; returns where it ends. Its head comes as the object
 * (not looked up by name) and an integer's digits are written as they are made (no string per integer): the writer
 * runs on every relayed entry, between the ingest's SQLite work, where each lookup and allocation showed.
 */
function writeField (out: Buffer, at: number, field: FieldHead, raw: unknown): number {
  if (typeof raw === 'string') return writeText(out, writeHead(out, at, field.s), raw)
  if (typeof raw === 'number' && Number.isSafeInteger(raw)) return writeInteger(out, writeHead(out, at, field.i), raw)
  throw new TypeError(`entry field ${field.name} is neither a string nor a safe integer`)
}

function writeHead (out: Buffer, at: number, bytes: Uint8Array): number {
  for (let i = 0; i < bytes.length; i++) out[at++] = bytes[i]!
  return at
}

/** The 4-byte big-endian length at `at`, then the text's UTF-8 (byte by byte for the short ASCII text most fields are). */
function writeText (out: Buffer, at: number, value: string): number {
  let n = 0
  const length = value.length
  if (length <= 256) {
    for (; n < length; n++) {
      const c = value.charCodeAt(n)
      if (c >= 0x80) break
      out[at + 4 + n] = c
    }
  }
  if (n < length) n = out.write(value, at + 4, 'utf8')
  writeLength(out, at, n)
  return at + 4 + n
}

/** The length, then the integer's decimal ASCII form (a minus sign first when negative), as String(value) gives it. */
function writeInteger (out: Buffer, at: number, value: number): number {
  let n = 0
  let rest = value
  if (rest < 0) {
    out[at + 4] = 0x2d
    n = 1
    rest = -rest
  }
  let digits = 1
  for (let p = 10; p <= rest; p *= 10) digits++
  for (let d = digits - 1; d >= 0; d--) {
    out[at + 4 + n + d] = 0x30 + (rest % 10)
    rest = Math.floor(rest / 10)
  }
  n += digits
  writeLength(out, at, n)
  return at + 4 + n
}

function writeLength (out: Buffer, at: number, n: number): void {
  out[at] = n >>> 24
  out[at + 1] = (n >>> 16) & 0xff
  out[at + 2] = (n >>> 8) & 0xff
  out[at + 3] = n & 0xff
}

/** The bytes `origin` signs for this entry (its `sig` excluded). Throws on a field that is neither string nor integer. */
export function canonicalEntryBytes (entry: Entry, origin: string): Buffer {
  return Buffer.from(canonicalEntryView(entry, origin))
}

/** A device's signing key: its PeerId and the 64-byte Ed25519 secret key (seed then public key, libsodium's form). */
export interface EntrySigner {
  origin: string
  secretKey: Uint8Array
}

const nodePrivateKeys = new WeakMap<Uint8Array, KeyObject>()

/** Ed25519: secretKey's detached signature over message (64 bytes). */
export function signBytes (message: Buffer, secretKey: Uint8Array): Buffer {
  if (sodium != null) {
    const sig = Buffer.allocUnsafe(64)
    sodium.crypto_sign_detached(sig, message, Buffer.from(secretKey.buffer, secretKey.byteOffset, secretKey.byteLength))
    return sig
  }
  let key = nodePrivateKeys.get(secretKey)
  if (key == null) {
    const raw = Buffer.from(secretKey)
    key = createPrivateKey({ format: 'jwk', key: { kty: 'OKP', crv: 'Ed25519', d: raw.subarray(0, 32).toString('base64url'), x: raw.subarray(32, 64).toString('base64url') } })
    nodePrivateKeys.set(secretKey, key)
  }
  return nodeSign(null, message, key)
}

/** The entry with `origin` and `sig` set: signed by signer over canonicalEntryBytes. */
export function signEntry<T extends Entry> (entry: T, signer: EntrySigner): T & { origin: string, sig: string } {
  const sig = signBytes(canonicalEntryBytes(entry, signer.origin), signer.secretKey).toString('base64')
  return { ...entry, origin: signer.origin, sig }
}

const base58Alphabet = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'

function base58Decode (text: string): Uint8Array | undefined {
  const bytes: number[] = [0]
  for (const ch of text) {
    let carry = base58Alphabet.indexOf(ch)
    if (carry < 0) return undefined
    for (let i = 0; i < bytes.length; i++) {
      carry += bytes[i]! * 58
      bytes[i] = carry & 0xff
      carry >>= 8
    }
    while (carry > 0) {
      bytes.push(carry & 0xff)
      carry >>= 8
    }
  }
  for (let i = 0; i < text.length && text[i] === '1'; i++) bytes.push(0)
  return Uint8Array.from(bytes.reverse())
}

/** identity multihash (0x00, length 0x24) of the protobuf PublicKey { Type: Ed25519 (1), Data: 32 bytes }. */
const ed25519PeerIdPrefix = [0x00, 0x24, 0x08, 0x01, 0x12, 0x20]

/**
 * The raw 32-byte public key inside an Ed25519 PeerId, or undefined when the string is not one. Cached: a pull
 * carries few distinct origins.
 */
export function publicKeyOfPeerId (peerId: string): Buffer | undefined {
  const cached = publicKeys.get(peerId)
  if (cached !== undefined || publicKeys.has(peerId)) return cached ?? undefined
  const bytes = base58Decode(peerId)
  let key: Buffer | undefined
  if (bytes != null && bytes.length === 38 && ed25519PeerIdPrefix.every((b, i) => bytes[i] === b)) key = Buffer.from(bytes.subarray(6))
  if (publicKeys.size >= maxCachedKeys) publicKeys.clear()
  publicKeys.set(peerId, key ?? null)
  return key
}
const publicKeys = new Map<string, Buffer | null>()
const maxCachedKeys = 4096
const nodePublicKeys = new Map<string, KeyObject>()

/** What checking an entry's signature takes: its canonical bytes, its signature, its origin's public key. */
export interface VerificationInput {
  message: Buffer
  signature: Buffer
  publicKey: Buffer
}

/** The entry's VerificationInput, or undefined when a part is missing or malformed (it cannot verify). */
export function verificationInput (entry: Entry): VerificationInput | undefined {
  const { origin, sig } = entry
  if (origin == null || sig == null) return undefined
  const publicKey = publicKeyOfPeerId(origin)
  if (publicKey == null) return undefined
  const signature = Buffer.from(sig, 'base64')
  if (signature.length !== 64) return undefined
  try {
    return { message: canonicalEntryBytes(entry, origin), signature, publicKey }
  } catch {
    return undefined
  }
}

/** Ed25519: true when signature is publicKey's over message. */
export function verifyDetached (signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (sodium != null) return sodium.crypto_sign_verify_detached(signature as Buffer, message as Buffer, publicKey as Buffer)
  const id = Buffer.from(publicKey).toString('base64url')
  let key = nodePublicKeys.get(id)
  if (key == null) {
    key = createPublicKey({ format: 'jwk', key: { kty: 'OKP', crv: 'Ed25519', x: id } })
    if (nodePublicKeys.size >= maxCachedKeys) nodePublicKeys.clear()
    nodePublicKeys.set(id, key)
  }
  return nodeVerify(null, message, key, signature)
}

/** True when entry.sig is origin's signature over the entry's canonical content. False on any malformed part. */
export function verifyEntry (entry: Entry): boolean {
  const input = verificationInput(entry)
  return input != null && verifyDetached(input.signature, input.message, input.publicKey)
}

/** The signature fields removed: what an entry is when its signature cannot be (or is not) checked. */
export function withoutSignature<T extends Entry> (entry: T): T {
  if (entry.origin === undefined && entry.sig === undefined) return entry
  const { origin: _origin, sig: _sig, ...rest } = entry
  return rest as T
}
