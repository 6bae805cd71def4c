/**
 * The invite code `rr invite` prints and `rr join` reads: one copy-pasteable token carrying what a new device needs
 * to join the network — the swarm key, the user_id (when one is configured), the trackers with their token, and
 * the relay. Shape: `rr1-` + base64url(JSON ‖ first 4 bytes of SHA-256(JSON)). The checksum catches a truncated
 * or garbled paste before anything is written. Pure; no I/O.
 */
import { createHash } from 'node:crypto'
import { parseTrackerAddress, TrackerAddressError } from './tracker-address.js'
import { RustoryError } from '../core/errors.js'
import { hasControls } from '../core/escape.js'

export const invitePrefix = 'rr1-'
const checksumBytes = 4
const KiB = 1024
/** A code longer than this is not one of ours (a few trackers and a relay fit in well under 1 KiB). */
const maxCodeLength = 16 * KiB

export interface Invite {
  /** The 32 raw swarm key bytes. */
  swarmKey: Uint8Array
  /** Set only when the inviting device has user_id configured. */
  userId?: string
  /** Tracker base URLs. @default [] */
  trackers: string[]
  trackerToken?: string
  relayAddr?: string
}

/** A code that is not a complete rustory invite. The message says what is wrong and how to get a good one. */
export class InviteCodeError extends RustoryError {
  static override readonly name = 'InviteCodeError'
  override readonly name = 'InviteCodeError'
  override readonly exitCode = 2
}

interface Wire {
  v: 1
  k: string
  u?: string
  t?: string[]
  tt?: string
  r?: string
}

function checksum (bytes: Uint8Array): Buffer {
  return createHash('sha256').update(bytes).digest().subarray(0, checksumBytes)
}

export function encodeInvite (invite: Invite): string {
  const wire: Wire = { v: 1, k: Buffer.from(invite.swarmKey).toString('hex') }
  if (invite.userId != null) wire.u = invite.userId
  if (invite.trackers.length > 0) wire.t = invite.trackers
  if (invite.trackerToken != null) wire.tt = invite.trackerToken
  if (invite.relayAddr != null) wire.r = invite.relayAddr
  const json = Buffer.from(JSON.stringify(wire), 'utf8')
  return `${invitePrefix}${Buffer.concat([json, checksum(json)]).toString('base64url')}`
}

const again = 'copy the whole line `rr invite` printed on your first device, as one line'

function bad (why: string): never {
  throw new InviteCodeError(`invalid invite code: ${why}; ${again}`)
}

function optionalString (value: unknown, what: string): string | undefined {
  if (value === undefined) return undefined
  if (typeof value !== 'string' || value === '') bad(`${what} is not a non-empty string`)
  // Written into config.toml and shown in logs: no user_id, token or address of rustory's needs one.
  if (hasControls(value)) bad(`${what} contains control characters`)
  return value
}

/** Decodes and checks an invite code; throws InviteCodeError for anything but a complete, intact code. */
export function decodeInvite (input: string): Invite {
  const code = input.trim().replace(/^rr\s+join\s+/, '')
  if (code === '') bad('it is empty')
  if (code.length > maxCodeLength) bad(`it is ${code.length} characters long, more than any invite`)
  if (!code.startsWith(invitePrefix)) bad(`it does not start with ${invitePrefix}`)
  const body = code.slice(invitePrefix.length)
  if (!/^[A-Za-z0-9_-]+$/.test(body)) bad('it has characters that are not in an invite (spaces or line breaks from copying?)')
  const bytes = Buffer.from(body, 'base64url')
  if (bytes.length <= checksumBytes) bad('it is truncated')
  const json = bytes.subarray(0, bytes.length - checksumBytes)
  if (!checksum(json).equals(bytes.subarray(bytes.length - checksumBytes))) bad('it is truncated or damaged (checksum mismatch)')
  let wire: Record<string, unknown>
  try {
    wire = JSON.parse(json.toString('utf8')) as Record<string, unknown>
  } catch {
    bad('its content is not readable')
  }
  if (wire == null || typeof wire !== 'object' || Array.isArray(wire)) bad('its content is not readable')
  if (wire.v !== 1) bad(`it is version ${JSON.stringify(wire.v)}, this rr reads version 1 (update rr on this device)`)
  if (typeof wire.k !== 'string' || !/^[0-9a-f]{64}$/.test(wire.k)) bad('it carries no valid swarm key')
  const userId = optionalString(wire.u, 'its user_id')
  const trackerToken = optionalString(wire.tt, 'its tracker token')
  const relayAddr = optionalString(wire.r, 'its relay address')
  if (relayAddr != null && !/^\/(ip4|ip6|dns|dns4|dns6)\/[^/]+\/tcp\/\d+\/p2p\/\w+$/.test(relayAddr)) bad('its relay address is not a multiaddr ending in /p2p/<relay_peer_id>')
  const t = wire.t === undefined ? [] : wire.t
  if (!Array.isArray(t) || !t.every((x) => typeof x === 'string')) bad('its trackers are not a list of addresses')
  let trackers: string[]
  try {
    trackers = (t as string[]).map(parseTrackerAddress)
  } catch (err) {
    if (err instanceof TrackerAddressError) bad(`a tracker in it: ${err.message}`)
    throw err
  }
  return {
    swarmKey: Uint8Array.from(Buffer.from(wire.k, 'hex')),
    trackers,
    ...(userId != null ? { userId } : {}),
    ...(trackerToken != null ? { trackerToken } : {}),
    ...(relayAddr != null ? { relayAddr } : {})
  }
}
