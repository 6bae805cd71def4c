import test from 'ava'
import { createQuietLog } from '../../src/daemon/quiet-log.js'

const peer = '12D3KooWAbcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQR'

test('an idle round repeats nothing: same dial, same empty sync, same tracker answer are written once', (t) => {
  const quiet = createQuietLog()
  const round = (ms: number): string[] => [
    'tracker: http://127.0.0.1:8850 knows 2 peer(s)',
    `dial: direct attempt 1/3 peer=${peer} addr=/ip4/127.0.0.1/tcp/1/p2p/${peer}: ok in ${ms} ms`,
    `sync: peer=${peer} ok path=direct pulled=0 inserted=0 pushed=0 duration=0.0${ms % 10}s`,
    `tracker: registered with http://127.0.0.1:8850 as ${peer}: 1 addrs (0 via relay), ttl 30 s, observed /ip4/127.0.0.1/tcp/${40000 + ms}; next in 10 s`
  ]
  t.deepEqual(round(12).filter(quiet.accept).length, 4)
  for (let i = 0; i < 20; i++) t.deepEqual(round(13 + i).filter(quiet.accept), [])
})

test('changes are written: entries moved, a failure, the recovery after it, another peer count', (t) => {
  const quiet = createQuietLog()
  t.true(quiet.accept(`sync: peer=${peer} ok path=direct pulled=0 inserted=0 pushed=0 duration=0.01s`))
  t.true(quiet.accept(`sync: peer=${peer} ok path=direct pulled=0 inserted=0 pushed=1 duration=0.01s`))
  t.true(quiet.accept(`sync: peer=${peer} ok path=direct pulled=3 inserted=3 pushed=0 duration=0.01s`))
  t.false(quiet.accept(`sync: peer=${peer} ok path=direct pulled=1 inserted=0 pushed=0 duration=0.01s`))
  t.true(quiet.accept(`sync: peer=${peer} FAILED step=direct error=dial refused duration=3.00s`))
  t.false(quiet.accept(`sync: peer=${peer} FAILED step=direct error=dial refused duration=3.20s`))
  t.true(quiet.accept(`sync: peer=${peer} ok path=direct pulled=0 inserted=0 pushed=0 duration=0.01s`))
  t.true(quiet.accept('tracker: http://127.0.0.1:8850 knows 2 peer(s)'))
  t.true(quiet.accept('tracker: http://127.0.0.1:8850 knows 3 peer(s)'))
  // A peer's pushes: every one that stored something, even when it repeats the last; one that stored nothing is not logged at all.
  t.true(quiet.accept(`received: peer=${peer} pushed entries inserted=1 ignored=0`))
  t.true(quiet.accept(`received: peer=${peer} pushed entries inserted=1 ignored=0`))
})
