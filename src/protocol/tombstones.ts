/**
 * Tombstone wire messages (JSON, one document per direction) and their strict decoders. Pure.
 *   TombstonePull  { cursor, limit }                 → TombstoneBatch { tombstones: [Tombstone], next_cursor }
 *   TombstonePush  { tombstones: [Tombstone] }       → TombstoneAck   { ok, added, ignored, rejected? }
 * Tombstone fields are validated one by one by core/tombstone.
 */
import type { Tombstone } from '../core/tombstone.js'
import { maxPushResponseBytes } from './constants.js'
import { ProtocolError } from './errors.js'
import { checkItemCount, encodeMessage, type SyncPull } from './messages.js'

export type TombstonePull = SyncPull
export interface TombstoneBatch { tombstones: Tombstone[], next_cursor: number | null }
export interface TombstonePush { tombstones: Tombstone[] }
export interface TombstoneAck { ok: boolean, added: number, ignored: number, rejected?: Array<{ index: number, entry_id?: string, reason: string }>, error?: string }

function isObject (value: unknown): value is Record<string, unknown> {
  return value != null && typeof value === 'object' && !Array.isArray(value)
}

function isCursor (value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

/** Checks a TombstoneBatch's shape; its tombstones are returned raw, to be validated one by one. */
export function parseTombstoneBatch (value: unknown): { tombstones: unknown[], next_cursor: number | null } {
  if (!isObject(value)) throw new ProtocolError('TombstoneBatch: must be a JSON object')
  if (typeof value.error === 'string') throw new ProtocolError(`peer refused the tombstone pull: ${value.error.slice(0, 500)}`)
  if (!Array.isArray(value.tombstones)) throw new ProtocolError('TombstoneBatch: tombstones must be an array')
  checkItemCount(value.tombstones, 'TombstoneBatch', 'tombstones')
  const next = value.next_cursor
  if (next !== null && next !== undefined && !isCursor(next)) throw new ProtocolError('TombstoneBatch: next_cursor must be a non-negative integer or null')
  if (value.tombstones.length > 0 && (next === null || next === undefined)) throw new ProtocolError('TombstoneBatch: next_cursor is null but tombstones were sent')
  return { tombstones: value.tombstones, next_cursor: next ?? null }
}

export function parseTombstonePush (value: unknown): { tombstones: unknown[] } {
  if (!isObject(value)) throw new ProtocolError('TombstonePush: must be a JSON object')
  if (!Array.isArray(value.tombstones)) throw new ProtocolError('TombstonePush: tombstones must be an array')
  return { tombstones: checkItemCount(value.tombstones, 'TombstonePush', 'tombstones') }
}

export function parseTombstoneAck (value: unknown): TombstoneAck {
  if (!isObject(value)) throw new ProtocolError('TombstoneAck: must be a JSON object')
  if (typeof value.error === 'string' && value.ok !== true) throw new ProtocolError(`peer refused the tombstone push: ${value.error.slice(0, 500)}`)
  if (typeof value.ok !== 'boolean') throw new ProtocolError('TombstoneAck: ok must be a boolean')
  const count = (v: unknown): number => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : 0)
  return { ok: value.ok, added: count(value.added), ignored: count(value.ignored) }
}

/** The TombstoneAck document, kept under the push-response cap (the rejected list is cut to what fits). */
export function encodeTombstoneAck (ack: TombstoneAck, capBytes = maxPushResponseBytes): Uint8Array {
  const out: TombstoneAck & { rejected_total?: number } = { ok: ack.ok, added: ack.added, ignored: ack.ignored }
  if (ack.error != null) out.error = ack.error.slice(0, 1000)
  const rejected = ack.rejected ?? []
  if (rejected.length > 0) {
    const listed: NonNullable<TombstoneAck['rejected']> = []
    let bytes = 0
    for (const r of rejected) {
      const item = { index: r.index, ...(r.entry_id != null ? { entry_id: r.entry_id.slice(0, 64) } : {}), reason: r.reason.slice(0, 200) }
      bytes += Buffer.byteLength(JSON.stringify(item)) + 1
      if (bytes > capBytes - 2048) break
      listed.push(item)
    }
    out.rejected = listed
    if (listed.length < rejected.length) out.rejected_total = rejected.length
  }
  return encodeMessage(out)
}
