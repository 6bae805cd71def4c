/** The unit constants: each says its unit in its name, and the two families agree. */
import test from 'ava'
import { dayMs, daySec, hourMs, hourSec, minuteMs, minuteSec, secondMs } from '../../src/core/units.js'

test('milliseconds and seconds name the same spans', (t) => {
  t.is(secondMs, 1000)
  t.deepEqual([minuteMs, hourMs, dayMs], [minuteSec, hourSec, daySec].map((sec) => sec * secondMs))
  t.is(daySec, 86_400)
})
