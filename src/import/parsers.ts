/**
 * History file formats, as line-at-a-time parsers over raw bytes. Pure: feed lines, collect commands.
 *
 * bash  One command per line. With HISTTIMEFORMAT set, bash writes `#<epoch>` before each command; then every
 *       line up to the next `#<epoch>` belongs to that command (bash's `lithist` multi-line entries).
 * zsh   A line ending in a backslash continues on the next line (the backslash stands for the newline).
 *       EXTENDED_HISTORY lines are `: <start epoch>:<elapsed seconds>;<command>`. Bytes are metafied (decode.ts).
 * fish  `- cmd: <command>` then `  when: <epoch>` (and `  paths:` lists, ignored); in the command, `\\` is a
 *       backslash and `\n` a newline (fish's own escaping).
 */
import { decodeBytes, unmetafy } from './decode.js'

export type Shell = 'bash' | 'zsh' | 'fish'
export const shells: readonly Shell[] = ['bash', 'zsh', 'fish']

export interface ParsedCommand {
  cmd: string
  /** Seconds since the epoch, when the file says. */
  epochSec?: number
  /** Known for zsh extended history. */
  durationMs?: number
  /** File offset just past the command (untimed commands are dated from it). */
  end: number
  /** Some bytes were not valid UTF-8. */
  repaired: boolean
  /** The raw command was longer than the parser keeps (it is truncated on import anyway). */
  clipped: boolean
}

export interface HistoryParser {
  line: (bytes: Uint8Array, end: number) => void
  /** Flushes the last command. */
  finish: () => void
}

/** Raw bytes kept per command; more is dropped (commands are stored truncated at 64 KiB anyway). */
export const maxRawCommandBytes = 256 * 1024

/** Joins byte parts with '\n', clipped to maxRawCommandBytes. */
class Parts {
  parts: Uint8Array[] = []
  bytes = 0
  clipped = false

  push (part: Uint8Array): void {
    const sep = this.parts.length > 0 ? 1 : 0
    if (this.bytes + sep + part.length > maxRawCommandBytes) {
      this.clipped = true
      const room = maxRawCommandBytes - this.bytes - sep
      if (room <= 0) return
      part = part.subarray(0, room)
    }
    // Copy: the line is a view into a read buffer that will be reused.
    this.parts.push(Uint8Array.prototype.slice.call(part))
    this.bytes += sep + part.length
  }

  get empty (): boolean {
    return this.parts.length === 0
  }

  join (): Uint8Array {
    if (this.parts.length === 1) return this.parts[0]!
    const out = new Uint8Array(this.bytes)
    let at = 0
    this.parts.forEach((p, i) => {
      if (i > 0) out[at++] = 0x0a
      out.set(p, at)
      at += p.length
    })
    return out
  }
}

const latin1 = (bytes: Uint8Array): string => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1')

function epoch (digits: string): number | undefined {
  const n = Number(digits)
  return Number.isSafeInteger(n) && n >= 0 && n < 253402300800 ? n : undefined // before year 10000
}

const bashTimestamp = /^#(\d+)\s*$/

export function bashParser (emit: (c: ParsedCommand) => void): HistoryParser {
  let current: Parts | undefined
  let currentTs: number | undefined
  let currentEnd = 0
  const flush = (): void => {
    if (current == null) return
    const { text, repaired } = decodeBytes(current.join())
    emit({ cmd: text, ...(currentTs != null ? { epochSec: currentTs } : {}), end: currentEnd, repaired, clipped: current.clipped })
    current = undefined
  }
  return {
    line (bytes, end) {
      if (bytes[0] === 0x23 /* # */ && bytes.length < 32) {
        const m = bashTimestamp.exec(latin1(bytes))
        const ts = m != null ? epoch(m[1]!) : undefined
        if (ts != null) {
          flush()
          current = new Parts()
          currentTs = ts
          currentEnd = end
          return
        }
      }
      if (current != null) {
        // After a timestamp: every line up to the next one is part of this command.
        current.push(bytes)
        currentEnd = end
        return
      }
      const clipped = bytes.length > maxRawCommandBytes
      const { text, repaired } = decodeBytes(clipped ? bytes.subarray(0, maxRawCommandBytes) : bytes)
      emit({ cmd: text, end, repaired, clipped })
    },
    finish: flush
  }
}

const zshExtended = /^: *(\d+):(\d+);/

/** zsh drops spaces after a final backslash ("foo\  " reads as "foo\"); see readhistline in zsh's hist.c. */
function trimSpacesAfterBackslash (bytes: Uint8Array): Uint8Array {
  let i = bytes.length - 1
  while (i >= 0 && bytes[i] === 0x20) i--
  if (i !== bytes.length - 1 && i >= 0 && bytes[i] === 0x5c) return bytes.subarray(0, i + 1)
  return bytes
}

export function zshParser (emit: (c: ParsedCommand) => void): HistoryParser {
  let parts = new Parts()
  let lastEnd = 0
  const complete = (single?: Uint8Array): void => {
    let raw: Uint8Array
    let clipped: boolean
    if (single != null) {
      // The common case, a one-line command: decoded straight from the read buffer, no copy.
      clipped = single.length > maxRawCommandBytes
      raw = clipped ? single.subarray(0, maxRawCommandBytes) : single
    } else {
      if (parts.empty) return
      raw = parts.join()
      clipped = parts.clipped
      parts = new Parts()
    }
    let epochSec: number | undefined
    let durationMs: number | undefined
    if (raw[0] === 0x3a /* : */) {
      const m = zshExtended.exec(latin1(raw.subarray(0, 48)))
      if (m != null) {
        epochSec = epoch(m[1]!)
        const elapsed = Number(m[2])
        durationMs = Number.isSafeInteger(elapsed * 1000) ? elapsed * 1000 : undefined
        raw = raw.subarray(m[0].length)
      }
    }
    const { text, repaired } = decodeBytes(unmetafy(raw))
    emit({
      cmd: text,
      ...(epochSec != null ? { epochSec } : {}),
      ...(durationMs != null ? { durationMs } : {}),
      end: lastEnd,
      repaired,
      clipped
    })
  }
  return {
    line (bytes, end) {
      lastEnd = end
      if (bytes.length > 0 && bytes[bytes.length - 1] === 0x5c /* \ */) {
        parts.push(bytes.subarray(0, -1))
        return
      }
      if (parts.empty) {
        complete(trimSpacesAfterBackslash(bytes))
        return
      }
      parts.push(trimSpacesAfterBackslash(bytes))
      complete()
    },
    finish: () => complete()
  }
}

/** fish's history escaping: `\\` → `\`, `\n` → newline; any other backslash stays. Pure. */
export function unescapeFish (text: string): string {
  if (!text.includes('\\')) return text
  let out = ''
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!
    if (ch === '\\' && i + 1 < text.length) {
      const next = text[i + 1]
      if (next === '\\') { out += '\\'; i++; continue }
      if (next === 'n') { out += '\n'; i++; continue }
    }
    out += ch
  }
  return out
}

const fishCmd = Buffer.from('- cmd: ')
const fishWhen = /^\s+when:\s*(\d+)\s*$/

function startsWith (bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false
  return true
}

export function fishParser (emit: (c: ParsedCommand) => void): HistoryParser {
  let current: { cmd: string, repaired: boolean, clipped: boolean, end: number, epochSec?: number } | undefined
  const flush = (): void => {
    if (current == null) return
    emit(current)
    current = undefined
  }
  return {
    line (bytes, end) {
      if (startsWith(bytes, fishCmd) || (bytes.length === fishCmd.length - 1 && startsWith(fishCmd, bytes))) {
        flush()
        const raw = bytes.subarray(fishCmd.length)
        const clipped = raw.length > maxRawCommandBytes
        const { text, repaired } = decodeBytes(clipped ? raw.subarray(0, maxRawCommandBytes) : raw)
        current = { cmd: unescapeFish(text), repaired, clipped, end }
        return
      }
      if (current != null && bytes.length < 64) {
        const m = fishWhen.exec(latin1(bytes))
        const ts = m != null ? epoch(m[1]!) : undefined
        if (ts != null) current.epochSec = ts
      }
    },
    finish: flush
  }
}

export function parserFor (shell: Shell, emit: (c: ParsedCommand) => void): HistoryParser {
  switch (shell) {
    case 'bash': return bashParser(emit)
    case 'zsh': return zshParser(emit)
    case 'fish': return fishParser(emit)
  }
}
