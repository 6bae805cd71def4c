/**
 * Registrations only the peer itself can make: the peer signs its registration with its libp2p identity key (the
 * same identity.key its PeerId comes from), and anyone — the tracker, then every client reading a listing — checks
 * the signature against the public key inside the Ed25519 PeerId. `signed_at_ms` is signed too, so a captured
 * registration can be neither altered nor replayed later to move the peer (the tracker keeps the newest time per
 * PeerId and refuses anything not newer, and anything outside its clock window).
 */
import { peerIdFromString } from '@libp2p/peer-id'
import { registrationSigningBytes, type RegisterRequest, type SignedRegisterRequest } from './types.js'
import { minuteMs } from '../core/units.js'

/** How far a signature's time may be from the verifier's clock. @default 5 min */
export const defaultMaxClockSkewMs = 5 * minuteMs

/** Signs with the peer's identity key (PrivateKey.sign of @libp2p/crypto, passed in so no key is held here). */
export type Signer = (bytes: Uint8Array) => Promise<Uint8Array> | Uint8Array

/** The registration with `signed_at_ms` and `sig` added. */
export async function signRegistration (request: RegisterRequest, sign: Signer, nowMs: number = Date.now()): Promise<SignedRegisterRequest> {
  const { peer_id: peerId, addrs, meta } = request
  const sig = await sign(registrationSigningBytes({ peer_id: peerId, addrs, meta }, nowMs))
  return { peer_id: peerId, addrs, meta, signed_at_ms: nowMs, sig: Buffer.from(sig).toString('base64') }
}

/** Why a signed registration was refused, or undefined when it is good. */
export async function registrationSignatureProblem (request: RegisterRequest, options: { nowMs?: number, maxClockSkewMs?: number } = {}): Promise<string | undefined> {
  if (request.sig == null || request.signed_at_ms == null) return 'the registration is not signed'
  let publicKey
  try {
    publicKey = peerIdFromString(request.peer_id).publicKey
  } catch {
    return `peer_id ${request.peer_id} is not a valid PeerId`
  }
  if (publicKey == null) return `peer_id ${request.peer_id} does not embed its public key (only Ed25519 and secp256k1 PeerIds do); a signature cannot be checked`
  const skew = options.maxClockSkewMs ?? defaultMaxClockSkewMs
  const now = options.nowMs ?? Date.now()
  if (Math.abs(now - request.signed_at_ms) > skew) {
    return `signed_at_ms is ${Math.round((request.signed_at_ms - now) / 1000)} s from this clock (at most ±${Math.round(skew / 1000)} s): check the clock of the registering machine`
  }
  const bytes = registrationSigningBytes(request, request.signed_at_ms)
  let ok = false
  try {
    ok = await publicKey.verify(bytes, Buffer.from(request.sig, 'base64'))
  } catch {
    ok = false
  }
  return ok ? undefined : `the signature does not match peer_id ${request.peer_id}: only the owner of that PeerId's identity key can register it`
}
