import test from 'ava'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { decodeBytes, unmetafy } from '../../src/import/decode.js'
import { readLines } from '../../src/import/lines.js'
import { unescapeFish, type ParsedCommand, type Shell } from '../../src/import/parsers.js'
import { parse } from './parse.js'
import { tempDir } from '../helpers/tmp.js'

type Want = Pick<ParsedCommand, 'cmd'> & Partial<Pick<ParsedCommand, 'epochSec' | 'durationMs' | 'repaired'>>

function strip (c: ParsedCommand): Want {
  const w: Want = { cmd: c.cmd }
  if (c.epochSec != null) w.epochSec = c.epochSec
  if (c.durationMs != null) w.durationMs = c.durationMs
  if (c.repaired) w.repaired = true
  return w
}

const b = (...parts: Array<string | number[]>): Buffer => Buffer.concat(parts.map((p) => typeof p === 'string' ? Buffer.from(p, 'utf8') : Buffer.from(p)))

// "→" is E2 86 92; zsh metafies 0x86 and 0x92 (0x83–0xA2) as 0x83, byte ^ 0x20.
const metafiedArrow = [0xe2, 0x83, 0xa6, 0x83, 0xb2]

const cases: Array<{ name: string, shell: Shell, file: Buffer, want: Want[] }> = [
  { name: 'plain lines', shell: 'bash', file: b('ls\ncd /tmp\n'), want: [{ cmd: 'ls' }, { cmd: 'cd /tmp' }] },
  { name: 'a last line without newline', shell: 'bash', file: b('ls\npwd'), want: [{ cmd: 'ls' }, { cmd: 'pwd' }] },
  {
    name: 'HISTTIMEFORMAT timestamps',
    shell: 'bash',
    file: b('#1700000000\nls\n#1700000005\necho a\n'),
    want: [{ cmd: 'ls', epochSec: 1700000000 }, { cmd: 'echo a', epochSec: 1700000005 }]
  },
  {
    name: 'lithist multi-line entries between timestamps',
    shell: 'bash',
    file: b('#1700000000\nfor i in 1 2\ndo echo $i\ndone\n#1700000001\nls\n'),
    want: [{ cmd: 'for i in 1 2\ndo echo $i\ndone', epochSec: 1700000000 }, { cmd: 'ls', epochSec: 1700000001 }]
  },
  {
    name: 'untimed lines before the first timestamp, and a comment that is not one',
    shell: 'bash',
    file: b('old one\n#not a time\n#1700000000\nnew\n'),
    want: [{ cmd: 'old one' }, { cmd: '#not a time' }, { cmd: 'new', epochSec: 1700000000 }]
  },
  { name: 'invalid UTF-8 is kept readable (bash)', shell: 'bash', file: b('echo caf', [0xe9], '\n'), want: [{ cmd: 'echo café', repaired: true }] },
  {
    name: 'extended history with durations',
    shell: 'zsh',
    file: b(': 1700000000:0;ls\n: 1700000010:42;make test\n'),
    want: [{ cmd: 'ls', epochSec: 1700000000, durationMs: 0 }, { cmd: 'make test', epochSec: 1700000010, durationMs: 42000 }]
  },
  {
    name: 'backslash-newline continuations are one multi-line command',
    shell: 'zsh',
    file: b(': 1700000000:1;for f in *; do\\\n  echo "$f"\\\ndone\n: 1700000001:0;pwd\n'),
    want: [{ cmd: 'for f in *; do\n  echo "$f"\ndone', epochSec: 1700000000, durationMs: 1000 }, { cmd: 'pwd', epochSec: 1700000001, durationMs: 0 }]
  },
  {
    name: 'a continuation line that looks like an extended header stays part of the command',
    shell: 'zsh',
    file: b(': 1700000000:0;cat <<EOF\\\n: 1700000099:0;not a header\\\nEOF\n'),
    want: [{ cmd: 'cat <<EOF\n: 1700000099:0;not a header\nEOF', epochSec: 1700000000, durationMs: 0 }]
  },
  {
    name: 'metafied bytes are unmetafied before decoding',
    shell: 'zsh',
    file: b(': 1700000000:0;echo ', metafiedArrow, ' ok\n'),
    want: [{ cmd: 'echo → ok', epochSec: 1700000000, durationMs: 0 }]
  },
  { name: 'spaces after a final backslash are dropped, not a continuation', shell: 'zsh', file: b('echo a\\  \nls\n'), want: [{ cmd: 'echo a\\' }, { cmd: 'ls' }] },
  { name: 'plain (non-extended) zsh history is untimed', shell: 'zsh', file: b('ls\ngit log\n'), want: [{ cmd: 'ls' }, { cmd: 'git log' }] },
  { name: 'invalid UTF-8 is kept readable (zsh)', shell: 'zsh', file: b(': 1700000000:0;echo ', [0x80, 0xff], '\n'), want: [{ cmd: 'echo €ÿ', epochSec: 1700000000, durationMs: 0, repaired: true }] },
  {
    name: 'fish entries with when and paths',
    shell: 'fish',
    file: b('- cmd: ls -la\n  when: 1700000000\n- cmd: vim notes.txt\n  when: 1700000003\n  paths:\n    - notes.txt\n'),
    want: [{ cmd: 'ls -la', epochSec: 1700000000 }, { cmd: 'vim notes.txt', epochSec: 1700000003 }]
  },
  {
    name: "fish's escapes: \\n is a newline, \\\\ a backslash, others stay",
    shell: 'fish',
    file: b('- cmd: echo 1\\necho 2\n  when: 1700000000\n- cmd: printf \'a\\\\nb\' \\t\n  when: 1700000001\n'),
    want: [{ cmd: 'echo 1\necho 2', epochSec: 1700000000 }, { cmd: "printf 'a\\nb' \\t", epochSec: 1700000001 }]
  },
  { name: 'a fish entry without when is untimed', shell: 'fish', file: b('- cmd: echo: yes: no\n- cmd:\n'), want: [{ cmd: 'echo: yes: no' }, { cmd: '' }] }
]

for (const c of cases) {
  test(`${c.shell} history: ${c.name}`, (t) => {
    t.deepEqual(parse(c.shell, c.file).map(strip), c.want)
  })
}

test('a 300 KB line is clipped to the parser cap and flagged', (t) => {
  const long = 'x'.repeat(300 * 1024)
  const [only] = parse('zsh', b(`: 1700000000:0;echo ${long}\n`))
  t.true(only!.clipped)
  t.is(only!.cmd.length, 256 * 1024 - ': 1700000000:0;'.length)
})

test('the line reader yields the same lines and offsets across any chunk boundary', async (t) => {
  const dir = tempDir(t)
  const path = join(dir, 'h')
  const content = b('a\n', 'bb\n\n', 'x'.repeat(50), '\nlast')
  writeFileSync(path, content)
  for (const chunk of [1, 3, 7, 64, 1024]) {
    const got: Array<[string, number]> = []
    for await (const lines of readLines(path, chunk)) for (const l of lines) got.push([Buffer.from(l.bytes).toString(), l.end])
    t.deepEqual(got, [['a', 2], ['bb', 5], ['', 6], ['x'.repeat(50), 57], ['last', 61]], `chunk ${chunk}`)
  }
})

const unmetafyCases: Array<[number[], number[]]> = [
  [[0x61, 0x62], [0x61, 0x62]],
  [[0x83, 0xa3], [0x83]],
  [[0x83, 0x20], [0x00]],
  [[0x61, 0x83, 0xa6, 0x62], [0x61, 0x86, 0x62]],
  [[0x83], [0x83]]
]
for (const [input, want] of unmetafyCases) {
  test(`unmetafy ${Buffer.from(input).toString('hex')} → ${Buffer.from(want).toString('hex')}`, (t) => {
    t.deepEqual([...unmetafy(Uint8Array.from(input))], want)
  })
}

const decodeCases: Array<[string, number[], string, boolean]> = [
  ['valid UTF-8', [0x63, 0x61, 0x66, 0xc3, 0xa9], 'café', false],
  ['a Latin-1 byte', [0x63, 0x61, 0x66, 0xe9], 'café', true],
  ['CP1252 euro and an undefined byte', [0x80, 0x81], '€\uFFFD', true],
  ['a truncated sequence', [0xe2, 0x82], 'â‚', true],
  ['an overlong NUL', [0xc0, 0x80], 'À€', true],
  ['a UTF-16 surrogate', [0xed, 0xa0, 0x80, 0x41], 'í\u00a0€A', true],
  ['valid text around an invalid byte', [0xe2, 0x86, 0x92, 0xff, 0xe2, 0x86, 0x92], '→ÿ→', true]
]
for (const [name, bytes, text, repaired] of decodeCases) {
  test(`decoding: ${name}`, (t) => {
    t.deepEqual(decodeBytes(Uint8Array.from(bytes)), { text, repaired })
  })
}

test('fish unescaping leaves a trailing backslash alone', (t) => {
  t.is(unescapeFish('a\\'), 'a\\')
  t.is(unescapeFish('\\\\n'), '\\n')
})
