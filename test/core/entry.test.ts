import test from 'ava'
import fc from 'fast-check'
import { canonicalTs, compareEntries, isCanonicalTs, maxCmdBytes, truncateCmd, truncationMarker, validateEntry } from '../../src/core/entry.js'

const bytes = (s: string): number => Buffer.byteLength(s, 'utf8')

test('a command within 64 KiB is stored unchanged', (t) => {
  const cmd = 'x'.repeat(maxCmdBytes)
  t.is(maxCmdBytes, 64 * 1024)
  t.is(truncateCmd(cmd), cmd)
  t.is(truncateCmd('echo é'), 'echo é')
})

test('a command over 64 KiB is cut to 64 KiB and marked', (t) => {
  const cmd = 'y'.repeat(maxCmdBytes + 1)
  const stored = truncateCmd(cmd)
  t.true(stored.endsWith(truncationMarker))
  t.is(bytes(stored.slice(0, -truncationMarker.length)), maxCmdBytes)
  t.true(cmd.startsWith(stored.slice(0, -truncationMarker.length)))
})

test('truncation never splits a UTF-8 character', (t) => {
  for (const ch of ['é', '한', '😀']) {
    for (let pad = 0; pad < 4; pad++) {
      const cmd = 'a'.repeat(pad) + ch.repeat(Math.ceil((maxCmdBytes + 10) / bytes(ch)))
      const stored = truncateCmd(cmd)
      const body = stored.slice(0, -truncationMarker.length)
      t.false(body.includes('\uFFFD'), `${ch} pad ${pad}`)
      t.true(bytes(body) <= maxCmdBytes && bytes(body) > maxCmdBytes - 4)
      t.true(cmd.startsWith(body))
    }
  }
})

test('a huge command stays bounded, so it cannot bloat the database', (t) => {
  const stored = truncateCmd('z'.repeat(10 * 1024 * 1024))
  t.is(bytes(stored), maxCmdBytes + bytes(truncationMarker))
  t.notThrows(() => validateEntry({
    entry_id: '5f0b8f5e-7a4b-4c39-9d0e-2b1f6c1e9a10',
    device_id: 'd',
    user_id: 'u',
    ts: '2026-01-01T00:00:00Z',
    cmd: stored,
    cwd: '/',
    exit_code: 0,
    duration_ms: 0,
    shell: 'zsh',
    hostname: 'h',
    version: '0.1.0'
  }))
})

test('timestamps keep milliseconds and come out in one canonical UTC form', (t) => {
  t.is(canonicalTs('2026-03-04T05:06:07.123Z'), '2026-03-04T05:06:07.123Z')
  t.is(canonicalTs('2026-03-04T05:06:07.123456789Z'), '2026-03-04T05:06:07.123Z')
  t.is(canonicalTs('2026-03-04T14:06:07.5+09:00'), '2026-03-04T05:06:07.500Z')
  t.is(canonicalTs('2026-03-04T05:06:07Z'), '2026-03-04T05:06:07.000Z')
  t.is(canonicalTs('2026-02-31T00:00:00Z'), undefined)
  t.is(canonicalTs('yesterday'), undefined)
})

test('UI order is ts, then device_id, then entry_id', (t) => {
  const base = { entry_id: 'b', device_id: 'b', ts: '2026-01-01T00:00:00.001Z' }
  t.true(compareEntries({ ...base, ts: '2026-01-01T00:00:00.000Z' }, base) < 0)
  t.true(compareEntries({ ...base, device_id: 'a' }, base) < 0)
  t.true(compareEntries({ ...base, entry_id: 'a' }, base) < 0)
  t.is(compareEntries(base, { ...base }), 0)
})

test('isCanonicalTs agrees with a Date round trip on canonical-looking strings, valid or not', (t) => {
  const roundTrip = (text: string): boolean => {
    const ms = Date.parse(text)
    return text.length === 24 && text.endsWith('Z') && !Number.isNaN(ms) && ms >= 0 && new Date(ms).toISOString() === text
  }
  const two = (max: number): fc.Arbitrary<string> => fc.integer({ min: 0, max }).map((n) => String(n).padStart(2, '0'))
  const shaped = fc.tuple(fc.integer({ min: 1900, max: 2500 }), two(13), two(32), two(25), two(61), two(61), fc.integer({ min: 0, max: 999 }))
    .map(([y, mo, d, h, mi, s, ms]) => `${y}-${mo}-${d}T${h}:${mi}:${s}.${String(ms).padStart(3, '0')}Z`)
  // Shaped strings with one character replaced, to reach every separator and digit check.
  const mutated = fc.tuple(shaped, fc.integer({ min: 0, max: 23 }), fc.constantFrom('x', '0', '9', '-', ':', 'T', 'Z', '.', ' ', '/'))
    .map(([s, i, c]) => s.slice(0, i) + c + s.slice(i + 1))
  fc.assert(fc.property(fc.oneof(shaped, mutated, fc.date({ min: new Date(0), max: new Date('9999-12-31T23:59:59.999Z'), noInvalidDate: true }).map((d) => d.toISOString())), (text) => {
    t.is(isCanonicalTs(text), roundTrip(text), text)
  }), { numRuns: 20_000 })
  t.true(isCanonicalTs('2024-02-29T23:59:59.999Z'))
  t.false(isCanonicalTs('2023-02-29T00:00:00.000Z'))
  t.false(isCanonicalTs('2100-02-29T00:00:00.000Z'))
  t.true(isCanonicalTs('2000-02-29T00:00:00.000Z'))
})
