import test from 'ava'
import { createActor, SimulatedClock, waitFor, type AnyActorRef } from 'xstate'
import { createPeerSyncMachine, type PeerSyncDependencies, type PeerSyncEvent } from '../../machines/peer-sync.machine.js'
import type { Link, PeerOutcome, PeerTarget, SyncOptions } from '../../src/sync/types.js'
import { DialError, SwarmKeyMismatchError } from '../../src/protocol/errors.js'

const target: PeerTarget = { key: 'peer-a', peerId: '12D3KooWPeerA', addrs: ['/ip4/127.0.0.1/tcp/1/p2p/12D3KooWPeerA'], relayAddr: '/ip4/127.0.0.1/tcp/2/p2p/12D3KooWRelay', source: 'peers' }
const once: SyncOptions = { push: true, watch: false, intervalSec: 60, limit: 1000 }

function link (path: Link['path']): Link {
  return { path, addr: path, connectionId: `${path}-1`, transport: { peerId: target.peerId!, remoteAddr: path, path, pull: async () => new Uint8Array(), push: async () => ({ ok: true, inserted: 0, ignored: 0 }), close: async () => {} } }
}

interface Script {
  direct?: Array<'ok' | Error>
  relay?: Array<'ok' | Error>
  pull?: Array<'ok' | Error>
  upgrade?: 'upgraded' | 'failed' | 'never'
}

/** Fake dependencies that follow a script and record the calls (the machine test needs no network). */
function fakes (script: Script) {
  const calls: string[] = []
  const rounds: PeerOutcome[] = []
  const direct = [...(script.direct ?? [])]
  const relay = [...(script.relay ?? [])]
  const pull = [...(script.pull ?? [])]
  const deps: PeerSyncDependencies = {
    discover: async (t) => { calls.push('discover'); return t },
    dialDirect: async (input) => {
      calls.push(`direct#${input.attempt}`)
      const step = direct.shift() ?? 'ok'
      if (step instanceof Error) throw step
      return link('direct')
    },
    dialRelay: async (input) => {
      calls.push(`relay#${input.attempt}`)
      const step = relay.shift() ?? 'ok'
      if (step instanceof Error) throw step
      return link('relay')
    },
    watchUpgrade: (_input, sendBack) => {
      calls.push('watchUpgrade')
      if (script.upgrade === 'upgraded') queueMicrotask(() => sendBack({ type: 'dcutr.upgraded', link: link('dcutr') }))
      if (script.upgrade === 'failed') queueMicrotask(() => sendBack({ type: 'dcutr.failed', error: { name: 'Error', message: 'no public addresses', permanent: false, step: 'dcutr' } }))
      return () => {}
    },
    pullLoop: (input, sendBack) => {
      calls.push(`pull:${input.link.path}`)
      const step = pull.shift() ?? 'ok'
      queueMicrotask(() => sendBack(step instanceof Error
        ? { type: 'pull.failed', error: { name: step.name, message: step.message, permanent: false, step: 'pull' } }
        : { type: 'pull.done', pulled: 5, inserted: 3 }))
      return () => {}
    },
    pushLoop: (_input, sendBack) => {
      calls.push('push')
      queueMicrotask(() => sendBack({ type: 'push.done', pushed: 2 } satisfies PeerSyncEvent))
      return () => {}
    },
    closeLink: () => { calls.push('close') },
    roundFinished: (o) => { rounds.push(o) },
    random: () => 0.5,
    now: () => 0
  }
  return { deps, calls, rounds }
}

/** Waits for the state a step leads to (the fakes answer on microtasks); fails after 2 s instead of hanging. */
async function reach (actor: AnyActorRef, check: (snapshot: ReturnType<typeof actor.getSnapshot>) => boolean): Promise<void> {
  await waitFor(actor, check, { timeout: 2000 })
}

const finished = (s: { status: string }): boolean => s.status === 'done'
const at = (value: unknown) => (s: { matches: (v: never) => boolean }): boolean => s.matches(value as never)

test('dials direct, pulls, pushes and finishes in one round', async (t) => {
  const { deps, calls, rounds } = fakes({})
  const actor = createActor(createPeerSyncMachine(deps), { input: { target, options: once } })
  actor.start()
  await reach(actor, finished)
  t.deepEqual(calls, ['discover', 'direct#1', 'pull:direct', 'push', 'close'])
  t.deepEqual(actor.getSnapshot().output?.stats, { pulled: 5, inserted: 3, pushed: 2, rounds: 1, lastRoundMs: 0 })
  t.true(rounds[0]?.ok)
})

/** The three refused direct dials of the fakes' script, stepped on the clock: 375 then 750 ms apart. */
async function directRefusedThrice (actor: AnyActorRef, clock: SimulatedClock): Promise<void> {
  for (const wait of [375, 750]) {
    await reach(actor, at({ dialingDirect: 'backoff' }))
    clock.increment(wait)
  }
}

test('backs off between direct attempts and falls back to the relay after three', async (t) => {
  const clock = new SimulatedClock()
  const refused = new DialError('connection refused')
  const { deps, calls } = fakes({ direct: [refused, refused, refused], upgrade: 'failed' })
  const actor = createActor(createPeerSyncMachine(deps), { input: { target, options: { ...once, push: false } }, clock })
  actor.start()
  await reach(actor, at({ dialingDirect: 'backoff' }))
  t.deepEqual(calls, ['discover', 'direct#1'])
  clock.increment(374) // attempt 1 waits 250–500 ms; with random 0.5, 375 ms
  t.deepEqual(actor.getSnapshot().value, { dialingDirect: 'backoff' })
  clock.increment(1)
  await reach(actor, () => calls.includes('direct#2') && actor.getSnapshot().matches({ dialingDirect: 'backoff' }))
  t.deepEqual(calls, ['discover', 'direct#1', 'direct#2'])
  clock.increment(750) // attempt 2: 750 ms
  await reach(actor, finished)
  t.deepEqual(calls.slice(0, 5), ['discover', 'direct#1', 'direct#2', 'direct#3', 'relay#1'])
  t.is(actor.getSnapshot().output?.path, 'relay')
})

test('a wrong swarm key is permanent: no retry, no relay, failed with the reason', async (t) => {
  const { deps, calls } = fakes({ direct: [new SwarmKeyMismatchError('/ip4/127.0.0.1/tcp/1')] })
  const actor = createActor(createPeerSyncMachine(deps), { input: { target, options: once } })
  actor.start()
  await reach(actor, finished)
  t.deepEqual(calls, ['discover', 'direct#1'])
  t.is(actor.getSnapshot().value, 'gaveUp')
  t.regex(actor.getSnapshot().output?.error?.message ?? '', /swarm keys likely differ/)
  t.true(actor.getSnapshot().output?.error?.permanent)
})

test('gives up after three relay attempts when direct is impossible', async (t) => {
  const clock = new SimulatedClock()
  const refused = new DialError('refused')
  const { deps, calls } = fakes({ direct: [refused, refused, refused], relay: [refused, refused, refused] })
  const actor = createActor(createPeerSyncMachine(deps), { input: { target, options: once }, clock })
  actor.start()
  for (const [step, wait] of [['direct', 375], ['direct', 750], ['relay', 375], ['relay', 750]] as const) {
    await reach(actor, at({ [step === 'direct' ? 'dialingDirect' : 'dialingRelay']: 'backoff' }))
    clock.increment(wait)
  }
  await reach(actor, finished)
  t.deepEqual(calls, ['discover', 'direct#1', 'direct#2', 'direct#3', 'relay#1', 'relay#2', 'relay#3'])
  t.is(actor.getSnapshot().value, 'gaveUp')
  t.is(actor.getSnapshot().output?.ok, false)
})

test('a relayed link waits for DCUtR, then the whole round runs on the direct connection', async (t) => {
  const { deps, calls } = fakes({ direct: [new DialError('x'), new DialError('x'), new DialError('x')], upgrade: 'upgraded' })
  const clock = new SimulatedClock()
  const actor = createActor(createPeerSyncMachine(deps), { input: { target, options: once }, clock })
  actor.start()
  await directRefusedThrice(actor, clock)
  await reach(actor, finished)
  t.deepEqual(calls.filter((c) => c.startsWith('pull') || c === 'push' || c === 'watchUpgrade'), ['watchUpgrade', 'pull:dcutr', 'push'])
  t.is(actor.getSnapshot().output?.path, 'dcutr')
})

test('without a DCUtR outcome the pull starts on the relay after the wait, and a late upgrade moves the running loop', async (t) => {
  const received: string[] = []
  const { deps, calls } = fakes({ direct: [new DialError('x'), new DialError('x'), new DialError('x')], upgrade: 'never' })
  let upgrade: (() => void) | undefined
  deps.watchUpgrade = (_input, sendBack) => {
    calls.push('watchUpgrade')
    upgrade = () => sendBack({ type: 'dcutr.upgraded', link: link('dcutr') })
    return () => {}
  }
  deps.pullLoop = (input, sendBack, receive) => {
    calls.push(`pull:${input.link.path}`)
    receive((event) => { if (event.type === 'link.changed') { received.push(event.link.path); sendBack({ type: 'pull.done', pulled: 1, inserted: 1 }) } })
    return () => {}
  }
  const clock = new SimulatedClock()
  const actor = createActor(createPeerSyncMachine(deps), { input: { target, options: { ...once, push: false } }, clock })
  actor.start()
  await directRefusedThrice(actor, clock)
  await reach(actor, at({ connected: { sync: 'awaitingUpgrade', upgrade: 'watching' } }))
  clock.increment(9999)
  t.false(calls.some((c) => c.startsWith('pull')), 'no pull while DCUtR may still upgrade the link')
  t.deepEqual(actor.getSnapshot().value, { connected: { sync: 'awaitingUpgrade', upgrade: 'watching' } })
  clock.increment(1)
  t.true(calls.includes('pull:relay'))
  upgrade!()
  await reach(actor, finished)
  t.deepEqual(received, ['dcutr'])
  t.is(actor.getSnapshot().output?.path, 'dcutr')
})

test('a round on a relayed link ends only once DCUtR has an outcome (a hole punch in progress is not cut)', async (t) => {
  const { deps, calls } = fakes({ upgrade: 'never' })
  let fail: (() => void) | undefined
  deps.watchUpgrade = (_input, sendBack) => {
    fail = () => sendBack({ type: 'dcutr.failed', error: { name: 'DcutrError', message: 'error while attempting DCUtR on attempt 3 of 3 - TimeoutError', permanent: false, step: 'dcutr' } })
    return () => {}
  }
  const clock = new SimulatedClock()
  const actor = createActor(createPeerSyncMachine(deps), { input: { target: { ...target, addrs: [] }, options: once }, clock })
  actor.start()
  await reach(actor, at({ connected: { sync: 'awaitingUpgrade', upgrade: 'watching' } }))
  clock.increment(10_000)
  await reach(actor, at({ connected: { sync: 'finished', upgrade: 'watching' } }))
  t.true(calls.includes('push'), 'the transfers ran on the relay after the upgrade wait')
  t.false(calls.includes('close'))
  fail!()
  await reach(actor, finished)
  t.is(actor.getSnapshot().output?.path, 'relay')
  t.true(calls.includes('close'))
})

test('a failed DCUtR upgrade keeps syncing over the relay', async (t) => {
  const { deps } = fakes({ upgrade: 'failed' })
  const relayOnly: PeerTarget = { ...target, addrs: [] }
  const actor = createActor(createPeerSyncMachine(deps), { input: { target: relayOnly, options: once } })
  actor.start()
  await reach(actor, finished)
  t.is(actor.getSnapshot().output?.path, 'relay')
  t.true(actor.getSnapshot().output?.ok)
})

test('a failed pull redials after a backoff and succeeds', async (t) => {
  const clock = new SimulatedClock()
  const { deps, calls } = fakes({ pull: [new Error('stream reset')] })
  const actor = createActor(createPeerSyncMachine(deps), { input: { target, options: { ...once, push: false } }, clock })
  actor.start()
  await reach(actor, at('syncBackoff'))
  clock.increment(749) // sync attempt 1: 500–1000 ms; with random 0.5, 750 ms
  t.is(actor.getSnapshot().value, 'syncBackoff')
  clock.increment(1)
  await reach(actor, finished)
  t.deepEqual(calls, ['discover', 'direct#1', 'pull:direct', 'close', 'direct#1', 'pull:direct', 'close'])
})

test('under --watch a round is followed by a wait and another round, failures included', async (t) => {
  const clock = new SimulatedClock()
  const { deps, rounds } = fakes({ direct: [new SwarmKeyMismatchError('x')] })
  const actor = createActor(createPeerSyncMachine(deps), { input: { target, options: { ...once, watch: true, intervalSec: 10 } }, clock })
  actor.start()
  await reach(actor, at('waiting'))
  t.is(rounds.length, 1)
  t.false(rounds[0]?.ok)
  clock.increment(10_000)
  await reach(actor, (s) => rounds.length === 2 && s.matches('waiting'))
  t.true(rounds[1]?.ok)
  actor.stop()
})

test('with no address and no relay the round fails with a reason', async (t) => {
  const { deps } = fakes({})
  const actor = createActor(createPeerSyncMachine(deps), { input: { target: { key: 'x', addrs: [], source: 'peers' }, options: once } })
  actor.start()
  await reach(actor, finished)
  t.is(actor.getSnapshot().value, 'gaveUp')
  t.regex(actor.getSnapshot().output?.error?.message ?? '', /no address to dial/)
})

test('sync.now during a round starts the next round as soon as this one ends, without waiting the interval', async (t) => {
  const clock = new SimulatedClock()
  const { deps, rounds } = fakes({})
  let finishPush: (() => void) | undefined
  deps.pushLoop = (_input, sendBack) => {
    finishPush = () => sendBack({ type: 'push.done', pushed: 1 })
    return () => {}
  }
  const actor = createActor(createPeerSyncMachine(deps), { input: { target, options: { ...once, watch: true, intervalSec: 60 } }, clock })
  actor.start()
  await reach(actor, at({ connected: { sync: 'pushing', upgrade: 'direct' } }))
  // A command recorded while the first round was pushing.
  actor.send({ type: 'sync.now' })
  finishPush!()
  // The second round started at once (the simulated clock did not move): it is pushing again.
  await reach(actor, (s) => rounds.length === 1 && s.matches({ connected: { sync: 'pushing', upgrade: 'direct' } }))
  finishPush!()
  await reach(actor, at('waiting'))
  t.is(rounds.length, 2)
  actor.stop()
})
