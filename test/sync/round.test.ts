import test from 'ava'
import type { PeerOutcome } from '../../src/sync/types.js'
import { emptyExtras, formatRound, type RoundExtras } from '../../src/sync/round.js'

const ok: PeerOutcome = {
  key: 'k',
  peerId: 'P',
  ok: true,
  path: 'direct',
  stats: { pulled: 0, inserted: 0, pushed: 0, rounds: 1, lastRoundMs: 1234 },
  round: { pulled: 10, inserted: 4, pushed: 2 }
}
const failed: PeerOutcome = { ...ok, ok: false, error: { name: 'DialError', message: 'refused', permanent: false, step: 'direct' } }

const table: Array<[string, PeerOutcome, RoundExtras, string]> = [
  ['a clean round is ok', ok, emptyExtras(), 'sync: peer=P ok path=direct pulled=10 inserted=4 pushed=2 duration=1.23s'],
  ['a round that refused entries is partial, never ok, and names the first reason', ok, { ...emptyExtras(), refused: 3, refusedReason: 'cmd too long' },
    'sync: peer=P partial path=direct pulled=10 inserted=4 pushed=2 refused=3 (first: cmd too long) duration=1.23s'],
  ['tombstones moved are counted', ok, { ...emptyExtras(), tombstonesIn: 1, deleted: 2, tombstonesOut: 3 },
    'sync: peer=P ok path=direct pulled=10 inserted=4 pushed=2 tombstones_in=1 deleted=2 tombstones_out=3 duration=1.23s'],
  ['a peer without tombstones says so', ok, { ...emptyExtras(), tombstonesUnsupported: true },
    'sync: peer=P ok path=direct pulled=10 inserted=4 pushed=2 tombstones=unsupported duration=1.23s'],
  ['a failed round names the step and the error', failed, emptyExtras(), 'sync: peer=P FAILED step=direct error=refused duration=1.23s']
]

for (const [name, outcome, extras, expected] of table) {
  test(`round line: ${name}`, (t) => {
    t.is(formatRound(outcome, extras), expected)
  })
}
