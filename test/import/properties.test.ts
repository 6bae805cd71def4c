/** Property-based tests (fast-check) for the import parsers: what a shell writes, the parser reads back. */
import test from 'ava'
import fc from 'fast-check'
import { decodeBytes, unmetafy } from '../../src/import/decode.js'
import { parse } from './parse.js'

const runs = { numRuns: 300, seed: 20261122 }

/** zsh's metafication: bytes 0x83–0xA2 (and NUL) are written as 0x83 followed by the byte XOR 0x20. */
function metafy (bytes: Uint8Array): Buffer {
  const out: number[] = []
  for (const b of bytes) {
    if (b === 0 || (b >= 0x83 && b <= 0xa2)) out.push(0x83, b ^ 0x20)
    else out.push(b)
  }
  return Buffer.from(out)
}

/** One line of a command: any text without a newline or NUL (what a shell history can hold on one line). */
const line = fc.string({ unit: 'grapheme', maxLength: 40 }).filter((s) => !/[\n\r\0]/.test(s))
const epoch = fc.integer({ min: 0, max: 4_000_000_000 })

test('zsh extended history: commands (multi-line, metafied, any Unicode) read back with their time and duration', (t) => {
  // zsh continues a line that ends in a backslash, and drops spaces after a final backslash.
  const zshLine = line.filter((s) => !/\\ *$/.test(s))
  const command = fc.array(zshLine, { minLength: 1, maxLength: 4 }).map((ls) => ls.join('\n')).filter((c) => c.trim() !== '')
  fc.assert(fc.property(fc.array(fc.record({ cmd: command, at: epoch, secs: fc.integer({ min: 0, max: 100_000 }) }), { minLength: 1, maxLength: 8 }), (entries) => {
    const file = Buffer.concat(entries.map((e) => Buffer.concat([
      Buffer.from(`: ${e.at}:${e.secs};`),
      metafy(Buffer.from(e.cmd.replace(/\n/g, '\\\n'), 'utf8')),
      Buffer.from('\n')
    ])))
    const parsed = parse('zsh', file)
    return parsed.length === entries.length && parsed.every((p, i) =>
      p.cmd === entries[i]!.cmd && p.epochSec === entries[i]!.at && p.durationMs === entries[i]!.secs * 1000 && !p.repaired)
  }), runs)
  t.pass()
})

test('bash with HISTTIMEFORMAT: every line up to the next #<epoch> belongs to one command', (t) => {
  const bashLine = line.filter((s) => !s.startsWith('#'))
  const command = fc.array(bashLine, { minLength: 1, maxLength: 3 }).map((ls) => ls.join('\n'))
  fc.assert(fc.property(fc.array(fc.record({ cmd: command, at: epoch }), { minLength: 1, maxLength: 8 }), (entries) => {
    const file = Buffer.from(entries.map((e) => `#${e.at}\n${e.cmd}\n`).join(''), 'utf8')
    const parsed = parse('bash', file)
    return parsed.length === entries.length && parsed.every((p, i) => p.cmd === entries[i]!.cmd && p.epochSec === entries[i]!.at)
  }), runs)
  t.pass()
})

test('fish: commands escaped as fish writes them (backslash, newline) read back exactly', (t) => {
  const text = fc.string({ unit: 'grapheme', maxLength: 60 }).filter((s) => !/[\r\0]/.test(s))
  const escape = (s: string): string => s.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
  fc.assert(fc.property(fc.array(fc.record({ cmd: text, at: epoch }), { minLength: 1, maxLength: 8 }), (entries) => {
    const file = Buffer.from(entries.map((e) => `- cmd: ${escape(e.cmd)}\n  when: ${e.at}\n`).join(''), 'utf8')
    const parsed = parse('fish', file)
    return parsed.length === entries.length && parsed.every((p, i) => p.cmd === entries[i]!.cmd && p.epochSec === entries[i]!.at)
  }), runs)
  t.pass()
})

test('unmetafy undoes zsh metafication for any bytes', (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => Buffer.from(unmetafy(metafy(bytes))).equals(Buffer.from(bytes))), runs)
  t.pass()
})

test('decoding never throws: valid UTF-8 comes back unchanged, anything else is marked repaired', (t) => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
    const { text, repaired } = decodeBytes(bytes)
    const valid = Buffer.from(Buffer.from(bytes).toString('utf8'), 'utf8').equals(Buffer.from(bytes))
    return typeof text === 'string' && (valid ? !repaired && text === Buffer.from(bytes).toString('utf8') : repaired)
  }), runs)
  fc.assert(fc.property(fc.string({ unit: 'grapheme', maxLength: 100 }), (s) => {
    const { text, repaired } = decodeBytes(Buffer.from(s, 'utf8'))
    return text === s && !repaired
  }), runs)
  t.pass()
})
