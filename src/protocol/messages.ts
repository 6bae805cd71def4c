/**
 * Wire messages (JSON, one document per direction) and their strict decoders. Pure.
 * Decoders check shape and types; entry fields are validated by core/entry.
 */
import { hashBytes, maxReceivedChunkEntries, type Chunk } from '../core/chunk.js'
import { ed25519PeerIdPattern, signaturePattern, type Entry } from '../core/entry.js'
import { ProtocolError } from './errors.js'
import { maxItemsPerMessage, maxPullLimit, maxPushResponseBytes } from './constants.js'

export interface SyncPull { cursor: number, limit: number }
export interface SyncBatch { entries: Entry[], next_cursor: number | null }
export interface EntriesPush { entries: Entry[] }
export interface PushAck { ok: boolean, inserted: number, ignored: number, rejected?: Array<{ index: number, entry_id?: string, reason: string }>, error?: string }
/** What a server sends instead of a normal answer when it refuses a request. */
export interface ErrorReply { error: string }

const utf8 = new TextDecoder('utf-8', { fatal: true })
const encoder = new TextEncoder()

export function encodeMessage (message: unknown): Uint8Array {
  return encoder.encode(JSON.stringify(message))
}

/**
 * Below this size a document is parsed at once: its items cannot be many, nor its nesting deep enough to cost much
 * (a deep `[[[…` costs JSON.parse about 110 bytes of memory per byte).
 */
const scanFromBytes = 64 * 1024

/**
 * Nesting no message needs: an envelope, its lists, their objects (3), with room for fields a later release might
 * nest. 16 MiB of `{"entries":[[[[…` (8 million levels) took a receiver to 961 MB.
 */
export const maxMessageDepth = 8

/**
 * The items of the arrays at the top two levels of a JSON document (`[…]`, `{"entries": […], "chunks": […]}`),
 * counted on the bytes without parsing: commas outside strings at those depths, plus one per non-empty array. An
 * approximation for malformed input, exact for valid. -1 as soon as arrays and objects nest deeper than maxDepth.
 * Pure.
 */
export function topLevelItems (bytes: Uint8Array, maxDepth = Infinity): number {
  let depth = 0
  let inString = false
  let items = 0
  // Bit i set: the container at depth i + 1 is an array (depth ≤ 2 only).
  let arrays = 0
  let fresh = false
  for (let i = 0; i < bytes.length; i++) {
    const c = bytes[i]!
    if (inString) {
      if (c === 0x5c) i++ // backslash: skip the escaped byte
      else if (c === 0x22) inString = false
      continue
    }
    if (fresh && c > 0x20 && c !== 0x5d) { items++; fresh = false }
    if (c === 0x22) inString = true
    else if (c === 0x5b || c === 0x7b) {
      if (++depth > maxDepth) return -1
      if (depth <= 2) {
        if (c === 0x5b) { arrays |= 1 << (depth - 1); fresh = true } else arrays &= ~(1 << (depth - 1))
      }
    } else if (c === 0x5d || c === 0x7d) {
      depth--
      fresh = false
    } else if (c === 0x2c && depth <= 2 && depth >= 1 && (arrays & (1 << (depth - 1))) !== 0) {
      items++
    }
  }
  return items
}

/**
 * The commas and the opening brackets (`[` or `{`) in the bytes, four at a time (a word whose bytes are compared all
 * at once): a small part of what parsing the same bytes costs. May count a few more than there are (a borrow across
 * bytes), never fewer. Pure.
 */
export function punctuation (bytes: Uint8Array): { commas: number, opens: number } {
  let commas = 0
  let opens = 0
  const one = (c: number): void => {
    if (c === 0x2c) commas++
    else if ((c | 0x20) === 0x7b) opens++
  }
  let i = 0
  const head = Math.min(bytes.length, (4 - (bytes.byteOffset & 3)) & 3)
  for (; i < head; i++) one(bytes[i]!)
  const words = new Uint32Array(bytes.buffer, bytes.byteOffset + i, Math.floor((bytes.length - i) / 4))
  for (let w = 0; w < words.length; w++) {
    const word = words[w]!
    const x = word ^ 0x2c2c2c2c
    const comma = (x - 0x01010101) & ~x & 0x80808080
    if (comma !== 0) commas += ((comma >>> 7) & 1) + ((comma >>> 15) & 1) + ((comma >>> 23) & 1) + ((comma >>> 31) & 1)
    // `[` is 0x5b and `{` 0x7b: with bit 0x20 set, both are 0x7b, and no other byte is.
    const y = (word | 0x20202020) ^ 0x7b7b7b7b
    const open = (y - 0x01010101) & ~y & 0x80808080
    if (open !== 0) opens += ((open >>> 7) & 1) + ((open >>> 15) & 1) + ((open >>> 23) & 1) + ((open >>> 31) & 1)
  }
  for (i += words.length * 4; i < bytes.length; i++) one(bytes[i]!)
  return { commas, opens }
}

/** The commas in the bytes (punctuation). Pure. */
export function commaCount (bytes: Uint8Array): number {
  return punctuation(bytes).commas
}

/**
 * Decodes UTF-8 JSON; invalid UTF-8 or JSON is a ProtocolError naming what was received. A document of more items
 * than two messages' worth (maxItemsPerMessage), or nested deeper than maxMessageDepth, is refused before it is
 * parsed: 16 MiB of `0,0,…` parsed into 8 million items took a receiver from 94 to 349 MB (and to 4 GB before items
 * were counted at all), and 16 MiB of `[[[…` to 961 MB. Only a document dense in commas or in brackets is scanned
 * byte by byte: real batches have about one comma in 24 bytes and one bracket in 300 (an entry is one object).
 */
export function decodeJson (bytes: Uint8Array, what: string): unknown {
  if (bytes.length >= scanFromBytes) {
    const { commas, opens } = punctuation(bytes)
    if (commas > bytes.length / 6 || opens > bytes.length / 64) {
      const items = topLevelItems(bytes, maxMessageDepth)
      if (items < 0) throw new ProtocolError(`${what}: nested deeper than ${maxMessageDepth} levels, more than any message holds`)
      if (items > 2 * maxItemsPerMessage) throw new ProtocolError(`${what}: about ${items} items, more than any message holds (at most ${maxItemsPerMessage} entries or tombstones)`)
    }
  }
  let text: string
  try {
    text = utf8.decode(bytes)
  } catch {
    throw new ProtocolError(`${what}: not valid UTF-8`)
  }
  try {
    return JSON.parse(text)
  } catch (err) {
    throw new ProtocolError(`${what}: malformed JSON (${err instanceof Error ? err.message.slice(0, 120) : 'parse error'})`)
  }
}

function isObject (value: unknown): value is Record<string, unknown> {
  return value != null && typeof value === 'object' && !Array.isArray(value)
}

function isCursor (value: unknown): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= 0
}

export function parseSyncPull (value: unknown): SyncPull {
  if (!isObject(value)) throw new ProtocolError('SyncPull: must be a JSON object')
  if (!isCursor(value.cursor)) throw new ProtocolError('SyncPull: cursor must be a non-negative integer')
  if (typeof value.limit !== 'number' || !Number.isSafeInteger(value.limit) || value.limit < 1) throw new ProtocolError('SyncPull: limit must be a positive integer')
  return { cursor: value.cursor, limit: Math.min(value.limit, maxPullLimit) }
}

/**
 * The 2.0.0 batch-level `origin` (docs/PROTOCOL.md): a signed entry sent without its own `origin` has the batch's.
 * Set on the raw entries before validation, so each is then checked (and verified) exactly as if it had carried the
 * field itself: the default is only an encoding, it vouches for nothing. Saves 63 of a signed entry's 160 extra bytes.
 */
function withBatchOrigin (entries: unknown[], origin: unknown, what: string): unknown[] {
  if (origin === undefined) return entries
  if (typeof origin !== 'string') throw new ProtocolError(`${what}: origin must be a string`)
  for (const item of entries) {
    if (isObject(item) && item.sig !== undefined && item.origin === undefined) item.origin = origin
  }
  return entries
}

/**
 * A chunk as a 3.0.0 or 4.0.0 message carries it: `id` is what its entries' `k` name (unique within the message).
 * 4.0.0: with `runs`, `hashes` holds only the places of the manifest no run covers, and the manifest is rebuilt
 * from them and the covered entries' own hashes (rebuildChunks); `n` is its length.
 */
export interface WireChunk extends Chunk {
  id: number
  /** 4.0.0: [first entry (its place in the message's `entries`), first place in the manifest, count], each run. */
  runs?: Array<[entry: number, place: number, count: number]>
  n?: number
}

/** A whole number, at least `min`. */
function isCount (value: unknown, min: number): value is number {
  return typeof value === 'number' && Number.isSafeInteger(value) && value >= min
}

/**
 * The 4.0.0 `runs` and `n` of a chunk (docs/PROTOCOL.md, "Runs (4.0.0)"), checked against each other: n at most
 * maxReceivedChunkEntries, every run inside it, no place covered twice. Returns how many places the runs cover.
 */
function parseRuns (c: Record<string, unknown>, what: string, k: number): { runs: Array<[number, number, number]>, n: number, covered: number } {
  const { n, runs } = c
  if (!isCount(n, 1) || n > maxReceivedChunkEntries) throw new ProtocolError(`${what}: chunk ${k} n must be a whole number from 1 to ${maxReceivedChunkEntries}`)
  if (!Array.isArray(runs) || runs.length === 0 || runs.length > n) throw new ProtocolError(`${what}: chunk ${k} runs must be an array of 1 to n runs`)
  const parsed = runs.map((r: unknown, j) => {
    if (!Array.isArray(r) || r.length !== 3 || !isCount(r[0], 0) || !isCount(r[1], 0) || !isCount(r[2], 1) || r[1] + r[2] > n) {
      throw new ProtocolError(`${what}: chunk ${k} run ${j} must be [entry, place, count], whole numbers, count at least 1, place + count at most n`)
    }
    return [r[0], r[1], r[2]] as [number, number, number]
  })
  const byPlace = [...parsed].sort((a, b) => a[1] - b[1])
  let covered = 0
  for (let j = 0; j < byPlace.length; j++) {
    if (j > 0 && byPlace[j]![1] < byPlace[j - 1]![1] + byPlace[j - 1]![2]) throw new ProtocolError(`${what}: chunk ${k} runs cover a place twice`)
    covered += byPlace[j]![2]
  }
  return { runs: parsed, n, covered }
}

/**
 * The `chunks` of a 3.0.0 or 4.0.0 SyncBatch or EntriesPush (docs/PROTOCOL.md, "Chunk signatures (3.0.0)"): each
 * `{ id, origin, sig, hashes }`, id a non-negative integer unique in the message, sig 64 bytes and hashes n × 32
 * bytes in base64, n ≤ maxReceivedChunkEntries; on 4.0.0 also `runs` and `n`, with `hashes` then the places no run
 * covers (parseRuns). Absent is none; a malformed one makes the whole message malformed (its entries could not be
 * checked). Signatures are checked by admitReceived, not here.
 */
export function parseChunks (value: unknown, what: string, wire = 3): WireChunk[] {
  if (value === undefined) return []
  if (!Array.isArray(value)) throw new ProtocolError(`${what}: chunks must be an array`)
  const ids = new Set<number>()
  return value.map((c: unknown, k) => {
    if (!isObject(c) || typeof c.origin !== 'string' || typeof c.sig !== 'string' || typeof c.hashes !== 'string') throw new ProtocolError(`${what}: chunk ${k} must be { id, origin, sig, hashes }`)
    if (!isCursor(c.id) || ids.has(c.id)) throw new ProtocolError(`${what}: chunk ${k} id must be a non-negative integer, unique in the message`)
    ids.add(c.id)
    if (!ed25519PeerIdPattern.test(c.origin)) throw new ProtocolError(`${what}: chunk ${k} origin must be an Ed25519 PeerId (12D3KooW…)`)
    if (!signaturePattern.test(c.sig)) throw new ProtocolError(`${what}: chunk ${k} sig must be a 64-byte signature in base64`)
    if (c.hashes.length > Math.ceil(maxReceivedChunkEntries * hashBytes / 3) * 4) throw new ProtocolError(`${what}: chunk ${k} hashes must be at most ${maxReceivedChunkEntries} hashes in base64`)
    const hashes = Buffer.from(c.hashes, 'base64')
    // Standard base64 with padding, nothing else: the decoder skips any other character, so the length tells (a
    // regular expression over every manifest cost as much as checking its signature); it also takes base64url's
    // `-` and `_`, which two searches refuse (one encoding per manifest, as docs/PROTOCOL.md says).
    if (c.hashes.length % 4 !== 0 || hashes.length !== c.hashes.length / 4 * 3 - (c.hashes.endsWith('==') ? 2 : c.hashes.endsWith('=') ? 1 : 0) ||
      c.hashes.includes('-') || c.hashes.includes('_')) throw new ProtocolError(`${what}: chunk ${k} hashes must be standard base64`)
    const chunk: WireChunk = { id: c.id, origin: c.origin, sig: Buffer.from(c.sig, 'base64'), hashes }
    if (wire >= 4 && (c.runs !== undefined || c.n !== undefined)) {
      const { runs, n, covered } = parseRuns(c, what, k)
      if (hashes.length !== (n - covered) * hashBytes) throw new ProtocolError(`${what}: chunk ${k} hashes must be the ${n - covered} places its runs do not cover`)
      chunk.runs = runs
      chunk.n = n
      return chunk
    }
    if (hashes.length === 0 || hashes.length % hashBytes !== 0) throw new ProtocolError(`${what}: chunk ${k} hashes must be a whole number of ${hashBytes}-byte hashes`)
    return chunk
  })
}

/**
 * The chunk of each raw entry, as its place in `chunks`: on 3.0.0 its `k` names a chunk's `id`; on 4.0.0 a run of a
 * chunk may cover it instead (then `places` gets its place in the manifest). `k` is left on the entry: validation
 * keeps the entry's own fields only (deleting it would turn every entry object into a slow dictionary).
 * undefined: the entry names no chunk; -1: a `k` naming no chunk of the message, or given together with a per-entry
 * origin or sig (an entry is vouched for one way). A run reaching past the entries, or covering an entry another run
 * covers or one that carries `k`, origin or sig, makes the message malformed.
 */
export function takeChunkRefs (entries: readonly unknown[], chunks: readonly WireChunk[], places?: Array<number | undefined>, what = 'message'): Array<number | undefined> {
  const place = new Map(chunks.map((c, i) => [c.id, i]))
  const refs = entries.map((item) => {
    if (!isObject(item) || item.k === undefined) return undefined
    const k = typeof item.k === 'number' ? place.get(item.k) : undefined
    return k !== undefined && item.sig === undefined && item.origin === undefined ? k : -1
  })
  chunks.forEach((c, k) => {
    for (const [first, at, count] of c.runs ?? []) {
      if (first + count > entries.length) throw new ProtocolError(`${what}: chunk ${k} has a run past the last entry`)
      for (let j = 0; j < count; j++) {
        const item = entries[first + j]
        if (refs[first + j] !== undefined || (isObject(item) && (item.sig !== undefined || item.origin !== undefined))) {
          throw new ProtocolError(`${what}: entry ${first + j} is in a run of chunk ${k} and is vouched for another way too (another run, k, origin or sig)`)
        }
        refs[first + j] = k
        if (places != null) places[first + j] = at + j
      }
    }
  })
  return refs
}

/** Refuses a message of more than maxItemsPerMessage items, before any is looked at. */
export function checkItemCount<T> (items: T[], what: string, kind: string): T[] {
  if (items.length > maxItemsPerMessage) throw new ProtocolError(`${what}: ${items.length} ${kind}, more than any message holds (at most ${maxItemsPerMessage})`)
  return items
}

/** Checks a SyncBatch's shape; its entries are returned raw (with the batch origin applied), to be validated one by one. */
export function parseSyncBatch (value: unknown): { entries: unknown[], next_cursor: number | null, chunks?: unknown } {
  if (!isObject(value)) throw new ProtocolError('SyncBatch: must be a JSON object')
  if (typeof value.error === 'string') throw new ProtocolError(`peer refused the pull: ${value.error.slice(0, 500)}`)
  if (!Array.isArray(value.entries)) throw new ProtocolError('SyncBatch: entries must be an array')
  checkItemCount(value.entries, 'SyncBatch', 'entries')
  const next = value.next_cursor
  if (next !== null && next !== undefined && !isCursor(next)) throw new ProtocolError('SyncBatch: next_cursor must be a non-negative integer or null')
  if (value.entries.length > 0 && (next === null || next === undefined)) throw new ProtocolError('SyncBatch: next_cursor is null but entries were sent')
  return { entries: withBatchOrigin(value.entries, value.origin, 'SyncBatch'), next_cursor: next ?? null, chunks: value.chunks }
}

export function parseEntriesPush (value: unknown): { entries: unknown[], chunks?: unknown } {
  // The HTTP transport also accepts a bare array (spec: body `[Entry]` or `{ "entries": [Entry] }`).
  if (Array.isArray(value)) return { entries: checkItemCount(value, 'EntriesPush', 'entries') }
  if (!isObject(value)) throw new ProtocolError('EntriesPush: must be a JSON object')
  if (!Array.isArray(value.entries)) throw new ProtocolError('EntriesPush: entries must be an array')
  checkItemCount(value.entries, 'EntriesPush', 'entries')
  return { entries: withBatchOrigin(value.entries, value.origin, 'EntriesPush'), chunks: value.chunks }
}

export function parsePushAck (value: unknown): PushAck {
  if (!isObject(value)) throw new ProtocolError('PushAck: must be a JSON object')
  if (typeof value.error === 'string' && value.ok !== true) throw new ProtocolError(`peer refused the push: ${value.error.slice(0, 500)}`)
  if (typeof value.ok !== 'boolean') throw new ProtocolError('PushAck: ok must be a boolean')
  const count = (v: unknown): number => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : 0)
  return { ok: value.ok, inserted: count(value.inserted), ignored: count(value.ignored) }
}

/** What a serving side knows after storing a push; encodePushAck turns it into the wire PushAck. */
export interface PushOutcome {
  ok: boolean
  inserted: number
  ignored: number
  rejected: Array<{ index: number, entry_id?: string, reason: string }>
  error?: string
}

/**
 * The PushAck document, kept under the push-response cap: the list of rejected entries is cut (each reason to
 * 200 characters, then as many as fit) and `rejected_total` says how many there were.
 */
export function encodePushAck (outcome: PushOutcome, capBytes = maxPushResponseBytes): Uint8Array {
  const ack: PushAck & { rejected_total?: number } = { ok: outcome.ok, inserted: outcome.inserted, ignored: outcome.ignored }
  if (outcome.error != null) ack.error = outcome.error.slice(0, 1000)
  if (outcome.rejected.length > 0) {
    const budget = capBytes - 2048
    const listed: NonNullable<PushAck['rejected']> = []
    let bytes = 0
    for (const r of outcome.rejected) {
      const item = { index: r.index, ...(r.entry_id != null ? { entry_id: String(r.entry_id).slice(0, 64) } : {}), reason: r.reason.slice(0, 200) }
      bytes += Buffer.byteLength(JSON.stringify(item)) + 1
      if (bytes > budget) break
      listed.push(item)
    }
    ack.rejected = listed
    if (listed.length < outcome.rejected.length) ack.rejected_total = outcome.rejected.length
  }
  return encodeMessage(ack)
}
