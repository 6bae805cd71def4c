/**
 * The tombstone model: a deleted entry_id, when it was deleted and by which device. Pure — no I/O. A tombstone
 * never carries command text (nor cwd, nor anything else of the entry): it travels to every peer, including ones
 * that never had the entry.
 */
import { canonicalTs, eachRefusing, isUuid, maxShortFieldBytes } from './entry.js'

export interface Tombstone {
  /** The deleted entry's id. */
  entry_id: string
  /** RFC3339 UTC with milliseconds, on the deleting device's clock. */
  deleted_at: string
  /** The device that deleted it. */
  device_id: string
  /** The deleting device's libp2p PeerId, when it had one. */
  peer_id?: string
}

/** A tombstone as stored: plus this database's tombstone sequence (the cursor peers pull by). */
export interface StoredTombstone extends Tombstone {
  seq: number
}

/** Wire and column order. */
export const tombstoneFields = ['entry_id', 'deleted_at', 'device_id', 'peer_id'] as const satisfies ReadonlyArray<keyof Tombstone>

const maxPeerIdChars = 128

export class InvalidTombstoneError extends Error {
  static override readonly name = 'InvalidTombstoneError'
  override readonly name = 'InvalidTombstoneError'
  constructor (readonly entryId: string | undefined, readonly field: string, readonly reason: string) {
    super(`invalid tombstone${entryId != null ? ` ${entryId}` : ''}: ${field} ${reason}`)
  }
}

function shortString (value: unknown, field: string, id: string | undefined, maxChars: number): string {
  if (typeof value !== 'string' || value.length === 0) throw new InvalidTombstoneError(id, field, 'must be a non-empty string')
  if (value.length > maxChars || Buffer.byteLength(value) > maxChars) throw new InvalidTombstoneError(id, field, `is longer than ${maxChars} bytes`)
  if (value.includes('\u0000')) throw new InvalidTombstoneError(id, field, 'contains a NUL character')
  return value
}

/** Validates a tombstone received from outside and returns it canonical (lower-case id, canonical time). */
export function validateTombstone (raw: unknown): Tombstone {
  if (raw == null || typeof raw !== 'object' || Array.isArray(raw)) throw new InvalidTombstoneError(undefined, 'tombstone', 'must be an object')
  const t = raw as Record<string, unknown>
  const id = typeof t.entry_id === 'string' ? t.entry_id.slice(0, 64) : undefined
  if (typeof t.entry_id !== 'string' || !isUuid(t.entry_id)) throw new InvalidTombstoneError(id, 'entry_id', 'must be a UUID')
  const deletedAt = typeof t.deleted_at === 'string' && t.deleted_at.length <= 64 ? canonicalTs(t.deleted_at) : undefined
  if (deletedAt == null) throw new InvalidTombstoneError(id, 'deleted_at', 'must be an RFC3339 timestamp')
  const tombstone: Tombstone = {
    entry_id: t.entry_id.toLowerCase(),
    deleted_at: deletedAt,
    device_id: shortString(t.device_id, 'device_id', id, maxShortFieldBytes)
  }
  if (t.peer_id != null) tombstone.peer_id = shortString(t.peer_id, 'peer_id', id, maxPeerIdChars)
  return tombstone
}

export interface ValidatedTombstones {
  valid: Tombstone[]
  rejected: Array<{ index: number, entry_id?: string, reason: string }>
}

/** Validates a batch of tombstones: valid ones kept, invalid ones refused (the first ones described: eachRefusing). */
export function validateTombstones (raw: readonly unknown[]): ValidatedTombstones {
  const { kept, rejected } = eachRefusing(raw, validateTombstone, (err) => err instanceof InvalidTombstoneError ? err.entryId : undefined)
  return { valid: kept.map((k) => k.value), rejected }
}
