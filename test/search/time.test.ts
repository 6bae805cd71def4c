import test from 'ava'
import { formatLocal, parseDuration, parseTimeBound } from '../../src/search/time.js'

// Local times in a zone with an offset and no daylight saving (+05:30): local dates are not UTC dates.
process.env.TZ = 'Asia/Kolkata'

const now = new Date('2026-03-10T12:00:00.000Z')

const good: Array<[string, string]> = [
  ['7d', '2026-03-03T12:00:00.000Z'],
  ['12h', '2026-03-10T00:00:00.000Z'],
  ['30m', '2026-03-10T11:30:00.000Z'],
  ['90s', '2026-03-10T11:58:30.000Z'],
  ['2w', '2026-02-24T12:00:00.000Z'],
  ['1h30m', '2026-03-10T10:30:00.000Z'],
  ['now', '2026-03-10T12:00:00.000Z'],
  ['2026-01-02', '2026-01-01T18:30:00.000Z'],
  ['2026-11-20 15:00', '2026-11-20T09:30:00.000Z'],
  ['2026-11-20T15:00:30', '2026-11-20T09:30:30.000Z'],
  ['today', '2026-03-09T18:30:00.000Z'],
  ['yesterday', '2026-03-08T18:30:00.000Z'],
  ['monday', '2026-03-08T18:30:00.000Z'],
  ['Tue', '2026-03-09T18:30:00.000Z'],
  ['wednesday', '2026-03-03T18:30:00.000Z'],
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

for (const bad of ['', 'yesterdays', 'mo', 'funday', '2026-02-30 10:00', '2026-11-20 25:00', '7', 'd7', '7days', '2026-13-01', '2026-02-30T00:00:00Z', '1.5h', '-7d']) {
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

test('times print in local time with their offset, or in UTC with --utc', (t) => {
  t.is(formatLocal('2026-11-20T09:30:05.123Z'), '2026-11-20 15:00:05 +05:30')
  t.is(formatLocal('2026-11-20T09:30:05.123Z', true), '2026-11-20 09:30:05Z')
})
