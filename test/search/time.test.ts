import test from 'ava'
import { parseDuration, parseTimeBound } from '../../src/search/time.js'

const now = new Date('2026-03-10T12:00:00.000Z')

const good: Array<[string, string]> = [
  ['7d', '2026-03-03T12:00:00.000Z'],
  ['12h', '2026-03-10T00:00:00.000Z'],
  ['30m', '2026-03-10T11:30:00.000Z'],
  ['90s', '2026-03-10T11:58:30.000Z'],
  ['2w', '2026-02-24T12:00:00.000Z'],
  ['1h30m', '2026-03-10T10:30:00.000Z'],
  ['now', '2026-03-10T12:00:00.000Z'],
  ['2026-01-02', '2026-01-02T00:00:00.000Z'],
  ['2026-01-02T03:04:05Z', '2026-01-02T03:04:05.000Z'],
  ['2026-01-02T03:04:05.123456+02:00', '2026-01-02T01:04:05.123Z'],
  [' 7d ', '2026-03-03T12:00:00.000Z'],
  ['100000w', '1970-01-01T00:00:00.000Z']
]

for (const [input, expected] of good) {
  test(`time bound ${JSON.stringify(input)} resolves to ${expected}`, (t) => {
    t.is(parseTimeBound(input, now), expected)
  })
}

for (const bad of ['', 'yesterday', '7', 'd7', '7days', '2026-13-01', '2026-02-30T00:00:00Z', '1.5h', '-7d']) {
  test(`time bound ${JSON.stringify(bad)} is a usage error naming the flag`, (t) => {
    const err = t.throws(() => parseTimeBound(bad, now, '--until'))
    t.is(err?.name, 'UsageError')
    t.regex(err?.message ?? '', /--until/)
  })
}

test('durations add up their parts', (t) => {
  t.is(parseDuration('1w1d1h1m1s'), ((7 + 1) * 24 * 3600 + 3600 + 60 + 1) * 1000)
  t.is(parseDuration('7'), undefined)
})
