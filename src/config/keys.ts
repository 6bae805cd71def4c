/**
 * Keys on disk: the swarm key (pnet pre-shared key, standard `/key/swarm/psk/1.0.0/` format) that makes the
 * private network, and the Ed25519 identity keys that keep a peer's (or relay's) PeerId across restarts.
 * Missing files are created with mode 0600 (and their folders with 0700); a malformed file is a KeyFileError
 * naming it, and is never replaced.
 */
import { createHash, randomBytes } from 'node:crypto'
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { isRustoryDir, tighten } from './private-files.js'
import { dirname } from 'node:path'
import { generateKeyPair, privateKeyFromProtobuf, privateKeyToProtobuf } from '@libp2p/crypto/keys'
import type { PrivateKey } from '@libp2p/interface'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { RustoryError } from '../core/errors.js'

/** A key file that cannot be read or is not a key. Never fixed silently: the message names the file and the fix. */
export class KeyFileError extends RustoryError {
  static override readonly name = 'KeyFileError'
  override readonly name = 'KeyFileError'
  override readonly exitCode = 2
  constructor (readonly path: string, message: string) {
    super(`${path}: ${message}`)
  }
}

const swarmKeyHeader = '/key/swarm/psk/1.0.0/'
const swarmKeyCodec = '/base16/'
const swarmKeyLength = 32
const fileMode = 0o600
const dirMode = 0o700

export interface SwarmKey {
  path: string
  /** The file's content normalized to the standard form, as `preSharedKey({ psk })` takes it. */
  psk: Uint8Array
  /** Equal for equal keys; reveals nothing usable about the key. */
  fingerprint: string
  /** True when this call created the file. */
  created: boolean
  /** True when group or others may read the file. */
  looseMode: boolean
}

export interface Identity {
  path: string
  privateKey: PrivateKey
  peerId: string
  created: boolean
  looseMode: boolean
}

/** First 16 hex digits of SHA-256 over the 32 raw key bytes (so CRLF or hex case do not change it). */
export function swarmKeyFingerprint (key: Uint8Array): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16)
}

/** The standard text form of a 32-byte pre-shared key. */
export function formatSwarmKey (key: Uint8Array): string {
  return `${swarmKeyHeader}\n${swarmKeyCodec}\n${Buffer.from(key).toString('hex')}\n`
}

/** Parses the standard swarm key format; returns the raw 32 key bytes or throws KeyFileError. */
export function parseSwarmKey (text: string, path: string): Uint8Array {
  const lines = text.split(/\r?\n/)
  while (lines.length > 3 && lines[lines.length - 1]!.trim() === '') lines.pop()
  const fix = 'restore it from another machine of your network (all machines must share the same file), or move it away to create a new one'
  if (lines.length !== 3) throw new KeyFileError(path, `not a swarm key: expected 3 lines (${swarmKeyHeader}, ${swarmKeyCodec}, 64 hex digits); ${fix}`)
  const [header, codec, hex] = lines.map((l) => l.trim()) as [string, string, string]
  if (header !== swarmKeyHeader) throw new KeyFileError(path, `not a swarm key: first line must be ${swarmKeyHeader}; ${fix}`)
  if (codec !== swarmKeyCodec) throw new KeyFileError(path, `unsupported swarm key encoding ${JSON.stringify(codec.slice(0, 40))} (only ${swarmKeyCodec} is supported); ${fix}`)
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new KeyFileError(path, `malformed swarm key: third line must be exactly 64 hex digits; ${fix}`)
  return Uint8Array.from(Buffer.from(hex, 'hex'))
}

/** Tightens the key file (and its folder when it is rustory's own) to 0600/0700, then says if it is still loose. */
function isLoose (path: string): boolean {
  if (process.platform === 'win32') return false
  try {
    tighten(path)
    if (isRustoryDir(dirname(path))) tighten(dirname(path))
  } catch {
    // Not ours to change: reported as loose below.
  }
  try {
    return (statSync(path).mode & 0o077) !== 0
  } catch {
    return false
  }
}

/** Reads a file, or returns undefined when it does not exist. Other failures are KeyFileErrors. */
function readIfExists (path: string, what: string): Buffer | undefined {
  try {
    return readFileSync(path)
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') return undefined
    throw new KeyFileError(path, `cannot read the ${what}: ${(err as Error).message}`)
  }
}

/** Creates the file exclusively (never overwrites); false when another process created it first. */
function createExclusive (path: string, content: Uint8Array | string, what: string): boolean {
  // Written whole under a temporary name, then linked into place (fails if the file exists): a process starting at
  // the same moment (the daemon and a p2p-sync, say) either creates the file or reads a complete one, never a
  // half-written one.
  const tmp = `${path}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`
  try {
    mkdirSync(dirname(path), { recursive: true, mode: dirMode })
    writeFileSync(tmp, content, { mode: fileMode, flag: 'wx' })
    linkSync(tmp, path)
    return true
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw new KeyFileError(path, `cannot create the ${what}: ${(err as Error).message}`)
  } finally {
    rmSync(tmp, { force: true })
  }
}

/** Loads the swarm key, creating a new random one (0600) when the file is missing. */
export function loadOrCreateSwarmKey (path: string): SwarmKey {
  let created = false
  let bytes = readIfExists(path, 'swarm key')
  if (bytes == null) {
    created = createExclusive(path, formatSwarmKey(randomBytes(swarmKeyLength)), 'swarm key')
    bytes = readFileSync(path)
  }
  const key = parseSwarmKey(bytes.toString('utf8'), path)
  return {
    path,
    psk: new TextEncoder().encode(formatSwarmKey(key)),
    fingerprint: swarmKeyFingerprint(key),
    created,
    looseMode: isLoose(path)
  }
}

/** Loads an existing swarm key; a missing file is a KeyFileError too (for callers that must not create one). */
export function loadSwarmKey (path: string): SwarmKey {
  const bytes = readIfExists(path, 'swarm key')
  if (bytes == null) throw new KeyFileError(path, missingSwarmKeyFix)
  const key = parseSwarmKey(bytes.toString('utf8'), path)
  return { path, psk: new TextEncoder().encode(formatSwarmKey(key)), fingerprint: swarmKeyFingerprint(key), created: false, looseMode: isLoose(path) }
}

/** What a node that needs the swarm key says when there is none (it never creates one: a new key means a new network). */
export const missingSwarmKeyFix = 'no swarm key here: run `rr invite` on your first device and `rr join <code>` here'

/** The raw 32 key bytes back from the normalized psk of a SwarmKey. */
export function swarmKeyBytes (swarm: Pick<SwarmKey, 'psk' | 'path'>): Uint8Array {
  return parseSwarmKey(new TextDecoder().decode(swarm.psk), swarm.path)
}

/**
 * The id a device gives the trackers when no user_id is configured: derived from the swarm key (a domain-separated
 * SHA-256, so neither the key nor its printed fingerprint can be read back from it). Devices of one swarm share
 * it whatever their login names; two swarms on one tracker never list each other's peers.
 */
export function swarmDiscoveryId (key: Uint8Array): string {
  return `swarm-${createHash('sha256').update('rustory/swarm-discovery-id/v1\0').update(key).digest('hex').slice(0, 32)}`
}

function decodeIdentity (bytes: Uint8Array, path: string): PrivateKey {
  try {
    return privateKeyFromProtobuf(bytes)
  } catch (err) {
    throw new KeyFileError(path, `not a libp2p private key (${(err as Error).message.slice(0, 120)}); move it away to create a new identity (the PeerId will change)`)
  }
}

/** Loads the Ed25519 identity (libp2p protobuf form), creating one (0600) when the file is missing. */
export async function loadOrCreateIdentity (path: string): Promise<Identity> {
  let created = false
  let bytes = readIfExists(path, 'identity key')
  if (bytes == null) {
    const key = await generateKeyPair('Ed25519')
    created = createExclusive(path, privateKeyToProtobuf(key), 'identity key')
    bytes = readFileSync(path)
  }
  const privateKey = decodeIdentity(bytes, path)
  return { path, privateKey, peerId: peerIdFromPrivateKey(privateKey).toString(), created, looseMode: isLoose(path) }
}

/** The PeerId of the identity key at `path`, or undefined when there is no such file (never creates one). */
export async function identityPeerIdIfPresent (path: string): Promise<string | undefined> {
  if (!existsSync(path)) return undefined
  return (await loadOrCreateIdentity(path)).peerId
}

/** The user id this device gives the trackers: the configured user_id, else the swarm's discovery id. */
export function trackerUserId (settings: { userId: string, userIdConfigured: boolean }, swarm: Pick<SwarmKey, 'psk' | 'path'>): string {
  return settings.userIdConfigured ? settings.userId : swarmDiscoveryId(swarmKeyBytes(swarm))
}

/** The identity as an entry signer: its PeerId and the 64-byte Ed25519 secret key (src/core/signature.ts). */
export function entrySignerOf (identity: Identity): { origin: string, secretKey: Uint8Array } {
  if (identity.privateKey.type !== 'Ed25519' || identity.privateKey.raw.byteLength !== 64) {
    throw new KeyFileError(identity.path, `is a ${identity.privateKey.type} key; signing entries needs an Ed25519 identity: move it away to create a new one (the PeerId will change)`)
  }
  return { origin: identity.peerId, secretKey: Uint8Array.from(identity.privateKey.raw) }
}
