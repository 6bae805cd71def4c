/**
 * Does this file look like the named shell's history? Checked on the first bytes of the file before anything is
 * inserted, so a wrong `--path` or a wrong shell name refuses instead of filling the history with junk. Pure.
 *
 * Refused: binary data (NUL and other control bytes), another shell's format (fish's `- cmd:` records, zsh's
 * `: <epoch>:<elapsed>;` lines, bash's `#<epoch>` lines) where most lines are in it, and fish named for a file
 * with no `- cmd:` line. Plain bash and zsh files (one command per line) have no marker and are accepted.
 */
import type { Shell } from './parsers.js'

const KiB = 1024
/** How much of the file the check reads. */
export const sniffBytes = 64 * KiB

export interface SniffResult {
  ok: boolean
  /** What was seen, for the refusal message. */
  reason?: string
}

interface Counts {
  lines: number
  fishCmd: number
  fishField: number
  zshExtended: number
  bashTimestamp: number
}

function countLines (text: string): Counts {
  const c: Counts = { lines: 0, fishCmd: 0, fishField: 0, zshExtended: 0, bashTimestamp: 0 }
  for (const line of text.split('\n')) {
    if (line.trim() === '') continue
    c.lines++
    if (line.startsWith('- cmd: ') || line === '- cmd:') c.fishCmd++
    else if (/^ {2}(?:when|paths):/.test(line) || /^ {4}- /.test(line)) c.fishField++
    else if (/^: \d{9,11}:\d+;/.test(line)) c.zshExtended++
    else if (/^#\d{9,11}\s*$/.test(line)) c.bashTimestamp++
  }
  return c
}

/** Control bytes no text history holds (tab, newline, carriage return and escape are fine). */
function isControl (b: number): boolean {
  return b < 0x20 && b !== 0x09 && b !== 0x0a && b !== 0x0d && b !== 0x1b
}

const pct = (n: number, of: number): string => `${Math.round((100 * n) / Math.max(1, of))}%`

export function sniffHistory (sample: Uint8Array, shell: Shell): SniffResult {
  if (sample.length === 0) return { ok: true }
  let nul = 0
  let control = 0
  for (const b of sample) {
    if (b === 0) nul++
    else if (isControl(b)) control++
  }
  if (nul > 0 || control > sample.length / 100) {
    return { ok: false, reason: `binary data (${nul} NUL and ${control} other control bytes in the first ${sample.length} bytes), not a shell history` }
  }
  const c = countLines(Buffer.from(sample.buffer, sample.byteOffset, sample.byteLength).toString('latin1'))
  const fish = c.fishCmd + c.fishField
  const looksFish = c.fishCmd > 0 && fish * 2 >= c.lines
  const looksZsh = c.zshExtended * 2 >= c.lines && c.zshExtended > 0
  const looksBashTimed = c.bashTimestamp * 4 >= c.lines && c.bashTimestamp > 0
  switch (shell) {
    case 'fish':
      if (c.fishCmd === 0) {
        const other = looksZsh ? ' (it looks like zsh history: use `rr import zsh`)' : looksBashTimed ? ' (it looks like bash history: use `rr import bash`)' : ''
        return { ok: false, reason: `no \`- cmd:\` record in the first ${c.lines} lines: not fish history${other}` }
      }
      return { ok: true }
    case 'zsh':
      if (looksFish) return { ok: false, reason: `fish history (${pct(fish, c.lines)} of the first ${c.lines} lines are \`- cmd:\`/\`when:\` records): use \`rr import fish\`` }
      if (looksBashTimed && c.zshExtended === 0) return { ok: false, reason: `bash history with timestamps (${c.bashTimestamp} \`#<epoch>\` lines in the first ${c.lines}): use \`rr import bash\`` }
      return { ok: true }
    case 'bash':
      if (looksFish) return { ok: false, reason: `fish history (${pct(fish, c.lines)} of the first ${c.lines} lines are \`- cmd:\`/\`when:\` records): use \`rr import fish\`` }
      if (looksZsh) return { ok: false, reason: `zsh extended history (${pct(c.zshExtended, c.lines)} of the first ${c.lines} lines are \`: <epoch>:<elapsed>;\`): use \`rr import zsh\`` }
      return { ok: true }
  }
}
