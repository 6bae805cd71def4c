/**
 * The entry model: one recorded shell command. Pure — no I/O.
 * Field names are the spec's and are the wire format and the SQLite column names.
 */
import { RustoryError } from './errors.js'

export interface Entry {
  /** UUID, generated on the recording device; the dedup/idempotency key. */
  entry_id: string
  device_id: string
  user_id: string
  /** RFC3339 in UTC with milliseconds, e.g. 2026-11-21T23:53:41.123Z (canonical form, see canonicalTs). */
  ts: string
  cmd: string
  cwd: string
  exit_code: number
  duration_ms: number
  shell: string
  hostname: string
  version: string
  /**
   * The shell session that recorded it (the hooks make one per shell). Optional: absent on entries recorded before
   * rustory knew sessions, on imported ones, and on entries from peers that do not send it.
   */
  session_id?: string
  /**
   * PeerId (Ed25519, `12D3KooW…`) of the device whose identity key signed this entry; with `sig`, or neither.
   * Absent on unsigned entries (recorded before 2.0.0, or received over the 1.0.0 protocols). See docs/TRUST.md.
   */
  origin?: string
  /** Base64 Ed25519 signature by `origin`'s key over canonicalEntryBytes (src/core/signature.ts). */
  sig?: string
}

/** An entry as stored locally: plus the local database's insertion cursor. */
export interface StoredEntry extends Entry {
  ingest_seq: number
}

export const entryFields = [
  'entry_id', 'device_id', 'user_id', 'ts', 'cmd', 'cwd',
  'exit_code', 'duration_ms', 'shell', 'hostname', 'version'
] as const satisfies ReadonlyArray<keyof Entry>

/**
 * Optional content fields added after the first release (session_id): stored as nullable columns, absent on old
 * entries, covered by the signature when present (src/core/signature.ts). On the 1.0.0 wire they are sent only when
 * set: a 1.0.0 peer ignores fields it does not know (validateEntry there keeps its own fields). Append here; never
 * reorder.
 */
export const optionalEntryFields = ['session_id'] as const satisfies ReadonlyArray<keyof Entry>

/** The signature envelope of the 2.0.0 wire: who signed, and the signature (never part of the signed content). */
export const signatureFields = ['origin', 'sig'] as const satisfies ReadonlyArray<keyof Entry>

/** The content columns of an entry row: the v1 fields, then the optional ones. */
export const entryColumns = [...entryFields, ...optionalEntryFields] as const

const KiB = 1024

/** Commands longer than this are stored truncated, with truncationMarker appended. */
export const maxCmdBytes = 64 * KiB
export const truncationMarker = ' … [rustory: truncated]'
/** Room for the marker on top of maxCmdBytes. */
export const maxStoredCmdBytes = maxCmdBytes + 64
export const maxCwdBytes = 4 * KiB
/** device_id, user_id, shell, hostname, version. */
export const maxShortFieldBytes = 256
export const maxDurationMs = Number.MAX_SAFE_INTEGER
export const minExitCode = -(2 ** 31)
/**
 * The exit status of a command that was still running when its shell went away (terminal closed, shell killed):
 * recorded when it started, never completed. Shells report 0–255, so no real status is negative.
 */
export const unknownExitCode = -1
export const maxExitCode = 2 ** 31 - 1

const uuidPattern = /^[0-9a-f]{8}-[0-9a-f]{4}-[1-8][0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i
const rfc3339Pattern = /^(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(\.\d{1,9})?([Zz]|[+-]\d{2}:\d{2})$/

export class InvalidEntryError extends RustoryError {
  static override readonly name = 'InvalidEntryError'
  override readonly name = 'InvalidEntryError'
  constructor (readonly entryId: string | undefined, readonly field: string, readonly reason: string) {
    super(`invalid entry${entryId != null ? ` ${entryId}` : ''}: ${field} ${reason}`)
  }
}

export function isUuid (value: string): boolean {
  return uuidPattern.test(value)
}

const daysInMonth = [31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31]

function digits (text: string, from: number, count: number): number {
  let n = 0
  for (let i = from; i < from + count; i++) {
    const d = text.charCodeAt(i) - 48
    if (d < 0 || d > 9) return -1
    n = n * 10 + d
  }
  return n
}

/**
 * True when text is exactly what Date#toISOString prints for a time from 1970 on: `YYYY-MM-DDTHH:MM:SS.mmmZ` with
 * a real calendar date (leap years included) and no leap second.
 */
export function isCanonicalTs (text: string): boolean {
  if (text.length !== 24) return false
  if (text.charCodeAt(4) !== 45 || text.charCodeAt(7) !== 45 || text.charCodeAt(10) !== 84 || text.charCodeAt(13) !== 58 ||
    text.charCodeAt(16) !== 58 || text.charCodeAt(19) !== 46 || text.charCodeAt(23) !== 90) return false
  const year = digits(text, 0, 4)
  const month = digits(text, 5, 2)
  const day = digits(text, 8, 2)
  if (year < 1970 || month < 1 || month > 12 || day < 1) return false
  const leap = year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0)
  if (day > (month === 2 && leap ? 29 : daysInMonth[month - 1]!)) return false
  const hour = digits(text, 11, 2)
  const minute = digits(text, 14, 2)
  const second = digits(text, 17, 2)
  return hour >= 0 && hour < 24 && minute >= 0 && minute < 60 && second >= 0 && second < 60 && digits(text, 20, 3) >= 0
}

/**
 * Parses an RFC3339 timestamp and returns the canonical form (UTC, milliseconds, `Z`), or undefined when the
 * text is not RFC3339 or names an impossible date. Fractions past milliseconds are truncated.
 */
export function canonicalTs (text: string): string | undefined {
  // Fast path: already canonical (every entry rustory writes), checked field by field without allocating: sync
  // validates every received ts, and a Date round trip was a tenth of the ingest worker's time.
  if (isCanonicalTs(text)) return text
  const m = rfc3339Pattern.exec(text)
  if (m == null) return undefined
  const [, y, mo, d, h, mi, s, frac, zone] = m
  const month = Number(mo)
  const day = Number(d)
  if (month < 1 || month > 12 || day < 1 || day > 31 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 60) return undefined
  const ms = frac == null ? '000' : (frac.slice(1) + '00').slice(0, 3)
  const iso = `${y}-${mo}-${d}T${h}:${mi}:${Number(s) === 60 ? '59' : s}.${ms}${zone === 'z' || zone === 'Z' ? 'Z' : zone}`
  const date = new Date(iso)
  if (Number.isNaN(date.getTime())) return undefined
  // Reject rollovers such as 2026-02-31 (Date silently moves them to March).
  if (zone === 'Z' || zone === 'z') {
    if (date.getUTCDate() !== day || date.getUTCMonth() + 1 !== month) return undefined
  }
  const year = date.getUTCFullYear()
  if (year < 1970 || year > 9999) return undefined
  return date.toISOString()
}

function byteLength (text: string): number {
  return Buffer.byteLength(text, 'utf8')
}

function checkString (entry: Record<string, unknown>, field: string, maxBytes: number, allowEmpty: boolean): string {
  const value = entry[field]
  const id = typeof entry.entry_id === 'string' ? entry.entry_id : undefined
  if (typeof value !== 'string') throw new InvalidEntryError(id, field, `must be a string, got ${value === null ? 'null' : typeof value}`)
  if (!allowEmpty && value.length === 0) throw new InvalidEntryError(id, field, 'must not be empty')
  if (value.length > maxBytes || (value.length * 3 > maxBytes && byteLength(value) > maxBytes)) throw new InvalidEntryError(id, field, `is longer than ${maxBytes} bytes`)
  if (value.includes('\u0000')) throw new InvalidEntryError(id, field, 'contains a NUL character')
  return value
}

function checkInteger (entry: Record<string, unknown>, field: string, min: number, max: number): number {
  const value = entry[field]
  const id = typeof entry.entry_id === 'string' ? entry.entry_id : undefined
  if (typeof value !== 'number' || !Number.isInteger(value)) throw new InvalidEntryError(id, field, 'must be an integer')
  if (value < min || value > max) throw new InvalidEntryError(id, field, `must be between ${min} and ${max}`)
  return value
}

/**
 * Validates every field of an entry received from outside (a peer, an HTTP client) and returns it in canonical
 * form with exactly the spec's fields. Throws InvalidEntryError naming the entry and the field.
 */
export function validateEntry (raw: unknown): Entry {
  if (raw == null || typeof raw !== 'object' || Array.isArray(raw)) throw new InvalidEntryError(undefined, 'entry', 'must be an object')
  const entry = raw as Record<string, unknown>
  const entryId = checkString(entry, 'entry_id', 36, false)
  if (!isUuid(entryId)) throw new InvalidEntryError(entryId, 'entry_id', 'must be a UUID')
  const tsText = checkString(entry, 'ts', 64, false)
  const ts = canonicalTs(tsText)
  if (ts == null) throw new InvalidEntryError(entryId, 'ts', `must be an RFC3339 timestamp, got ${JSON.stringify(tsText.slice(0, 40))}`)
  const signature = checkSignatureFields(entry, entryId)
  const entryOut: Entry = {
    entry_id: entryId.toLowerCase(),
    device_id: checkString(entry, 'device_id', maxShortFieldBytes, false),
    user_id: checkString(entry, 'user_id', maxShortFieldBytes, true),
    ts,
    cmd: checkString(entry, 'cmd', maxStoredCmdBytes, false),
    cwd: checkString(entry, 'cwd', maxCwdBytes, true),
    exit_code: checkInteger(entry, 'exit_code', minExitCode, maxExitCode),
    duration_ms: checkInteger(entry, 'duration_ms', 0, maxDurationMs),
    shell: checkString(entry, 'shell', maxShortFieldBytes, true),
    hostname: checkString(entry, 'hostname', maxShortFieldBytes, true),
    version: checkString(entry, 'version', maxShortFieldBytes, true),
    ...signature
  }
  // Optional fields: absent or null means not set.
  if (entry.session_id != null) entryOut.session_id = checkString(entry, 'session_id', maxShortFieldBytes, false)
  return entryOut
}

/** Drops optional fields that are null (a row read from SQLite) so they are absent, as on the wire. */
export function withoutNulls<T extends object> (row: T): T {
  const fields = row as Record<string, unknown>
  for (const field of optionalEntryFields) if (fields[field] == null) delete fields[field]
  return row
}

/** Ed25519 PeerIds as libp2p prints them: identity multihash of the protobuf public key, base58btc. */
export const ed25519PeerIdPattern = /^12D3KooW[1-9A-HJ-NP-Za-km-z]{44}$/
/** 64 bytes in standard base64. */
export const signaturePattern = /^[A-Za-z0-9+/]{86}==$/

/** origin and sig: both or neither, each in its one accepted form. Their cryptographic check is signature.ts's. */
function checkSignatureFields (entry: Record<string, unknown>, entryId: string): { origin: string, sig: string } | Record<string, never> {
  const { origin, sig } = entry
  if (origin === undefined && sig === undefined) return {}
  if (typeof origin !== 'string' || typeof sig !== 'string') throw new InvalidEntryError(entryId, origin === undefined || typeof origin === 'string' ? 'sig' : 'origin', 'must be a string, given together with ' + (origin === undefined ? 'origin' : 'sig'))
  if (!ed25519PeerIdPattern.test(origin)) throw new InvalidEntryError(entryId, 'origin', 'must be an Ed25519 PeerId (12D3KooW…)')
  if (!signaturePattern.test(sig)) throw new InvalidEntryError(entryId, 'sig', 'must be a 64-byte signature in base64')
  return { origin, sig }
}

export interface ValidatedBatch {
  valid: Entry[]
  /** Where each valid entry was in the batch. */
  indexes: number[]
  rejected: Array<{ index: number, entry_id?: string, reason: string }>
}

/**
 * How many refused items of one message get their own reason; the rest share one. A 16 MiB message of `0,0,0,…`
 * is 8 million items: one error object and reason each took a receiver to 4-8 GB.
 */
export const maxListedRefusals = 1000

/** What every refused item past maxListedRefusals is listed as (one shared object: counted, not described). */
export const unlistedRefusal: Readonly<{ index: number, reason: string }> = Object.freeze({ index: -1, reason: `more invalid items (only the first ${maxListedRefusals} are described)` })

/**
 * Runs `check` on each item, items it throws on being refused with the error's message (the first
 * maxListedRefusals; the rest as unlistedRefusal). Errors are made without stack traces meanwhile: a refusal's
 * message is all that is kept, and a stack each is what made junk items cost. Pure.
 */
export function eachRefusing<T> (raw: readonly unknown[], check: (item: unknown, index: number) => T, idOf: (err: unknown) => string | undefined): { kept: Array<{ value: T, index: number }>, rejected: Array<{ index: number, entry_id?: string, reason: string }> } {
  const kept: Array<{ value: T, index: number }> = []
  const rejected: Array<{ index: number, entry_id?: string, reason: string }> = []
  const stackTraceLimit = Error.stackTraceLimit
  Error.stackTraceLimit = 0
  try {
    for (let index = 0; index < raw.length; index++) {
      try {
        kept.push({ value: check(raw[index], index), index })
      } catch (err) {
        if (rejected.length >= maxListedRefusals) {
          rejected.push(unlistedRefusal)
          continue
        }
        const reason = err instanceof Error ? err.message : String(err)
        const id = idOf(err)
        rejected.push(id != null ? { index, entry_id: id, reason } : { index, reason })
      }
    }
  } finally {
    Error.stackTraceLimit = stackTraceLimit
  }
  return { kept, rejected }
}

/** Validates a batch: valid entries are kept, invalid ones are listed with a reason (never all-or-nothing). */
export function validateBatch (raw: readonly unknown[]): ValidatedBatch {
  const { kept, rejected } = eachRefusing(raw, validateEntry, (err) => err instanceof InvalidEntryError ? err.entryId : undefined)
  return { valid: kept.map((k) => k.value), indexes: kept.map((k) => k.index), rejected }
}

/**
 * Truncates a command to maxCmdBytes of UTF-8 (never splitting a character) and appends the marker.
 * Returns the command unchanged when it fits.
 */
export function truncateCmd (cmd: string): string {
  if (cmd.length <= maxCmdBytes / 4 || byteLength(cmd) <= maxCmdBytes) return cmd
  const bytes = Buffer.from(cmd, 'utf8')
  let end = maxCmdBytes
  // Step back to a character boundary (continuation bytes are 10xxxxxx).
  while (end > 0 && ((bytes[end] ?? 0) & 0xc0) === 0x80) end--
  return bytes.subarray(0, end).toString('utf8') + truncationMarker
}

/** UI order: ts, then device_id, then entry_id (ascending). Canonical ts strings sort as times. */
export function compareEntries (a: Pick<Entry, 'ts' | 'device_id' | 'entry_id'>, b: Pick<Entry, 'ts' | 'device_id' | 'entry_id'>): number {
  if (a.ts !== b.ts) return a.ts < b.ts ? -1 : 1
  if (a.device_id !== b.device_id) return a.device_id < b.device_id ? -1 : 1
  if (a.entry_id !== b.entry_id) return a.entry_id < b.entry_id ? -1 : 1
  return 0
}
