/**
 * The root machine with real peer machines over fake dependencies, on xstate's SimulatedClock: time moves only when
 * a test moves it, and each step waits for the state it expects (waitFor), never for a number of ticks.
 */
import test, { type ExecutionContext } from 'ava'
import { createActor, SimulatedClock, waitFor, type ActorRefFrom, type SnapshotFrom } from 'xstate'
import { createPeerSyncMachine, type PeerSyncDependencies, type PeerSyncMachine } from '../../machines/peer-sync.machine.js'
import { createRootMachine, peerActorId } from '../../machines/root.machine.js'
import type { DiscoveredPeers } from '../../src/sync/types.js'
import type { Link, PeerOutcome, PeerTarget, SyncOptions } from '../../src/sync/types.js'
import { DialError, SwarmKeyMismatchError } from '../../src/protocol/errors.js'

const second = 1000
const watch: SyncOptions = { push: true, watch: true, intervalSec: 10, limit: 1000 }

const targetOf = (key: string): PeerTarget => ({ key, peerId: key, addrs: [`/ip4/127.0.0.1/tcp/1/p2p/${key}`], source: 'tracker' })

function link (key: string): Link {
  return { path: 'direct', addr: key, connectionId: key, transport: { peerId: key, remoteAddr: key, path: 'direct', pull: async () => new Uint8Array(), push: async () => ({ ok: true, inserted: 0, ignored: 0 }), close: async () => {} } }
}

/** A small world: who discovery returns, who answers a dial, and what happened when (in simulated ms). */
function world (clock: SimulatedClock, options: SyncOptions = watch) {
  const state = { discovered: { targets: [] as PeerTarget[] } as DiscoveredPeers, discoveries: 0, trackersDown: false }
  const online = new Set<string>()
  /** Per peer: how a dial to it fails when it is not online. */
  const failure = new Map<string, () => Error>()
  const dials: Array<{ key: string, at: number }> = []
  const rounds: Array<PeerOutcome & { at: number }> = []
  const forgotten: string[] = []
  const deps: PeerSyncDependencies = {
    discover: async (t) => t,
    dialDirect: async ({ target }) => {
      dials.push({ key: target.key, at: clock.now() })
      if (online.has(target.key)) return link(target.key)
      throw (failure.get(target.key) ?? (() => new DialError('connection refused')))()
    },
    dialRelay: async () => { throw new DialError('no relay') },
    watchUpgrade: () => () => {},
    pullLoop: (_input, sendBack) => { queueMicrotask(() => sendBack({ type: 'pull.done', pulled: 0, inserted: 0 })); return () => {} },
    pushLoop: (_input, sendBack) => { queueMicrotask(() => sendBack({ type: 'push.done', pushed: 0 })); return () => {} },
    closeLink: () => {},
    roundFinished: (o) => { rounds.push({ ...o, at: clock.now() }) },
    random: () => 0.5,
    now: () => clock.now()
  }
  const root = createRootMachine({
    discoverPeers: async () => {
      state.discoveries++
      if (state.trackersDown) throw new Error('no tracker answered and the peer book cannot be read')
      return state.discovered
    },
    peerMachine: createPeerSyncMachine(deps),
    random: () => 0.5,
    peerForgotten: (key) => { forgotten.push(key) }
  })
  const actor = createActor(root, { input: { options }, clock })
  const peer = (key: string): ActorRefFrom<PeerSyncMachine> | undefined => actor.getSnapshot().children[peerActorId(key)] as ActorRefFrom<PeerSyncMachine> | undefined
  const roundsOf = (key: string): number => rounds.filter((r) => r.key === key).length
  const dialsOf = (key: string): number => dials.filter((d) => d.key === key).length
  return {
    state,
    online,
    failure,
    dials,
    rounds,
    forgotten,
    actor,
    peer,
    roundsOf,
    dialsOf,
    /** Waits for the root's next discovery to be applied. */
    discovered: async (n: number): Promise<void> => {
      await waitFor(actor, (s) => state.discoveries >= n && s.matches('supervising'), { timeout: 2 * second })
    },
    /** Waits until a peer has finished `n` rounds and waits for the next one. */
    rounded: async (key: string, n: number): Promise<SnapshotFrom<PeerSyncMachine>> => {
      await waitFor(actor, (s) => s.children[peerActorId(key)] != null, { timeout: 2 * second })
      return await waitFor(peer(key)!, (s) => roundsOf(key) >= n && s.matches('waiting'), { timeout: 2 * second })
    }
  }
}

test('under --watch a peer discovery lets go is stopped and no longer dialed; back in discovery, it is dialed again', async (t) => {
  const clock = new SimulatedClock()
  const w = world(clock)
  w.online.add('a').add('b')
  w.state.discovered = { targets: [targetOf('a'), targetOf('b')], known: new Set(['a', 'b']) }
  w.actor.start()
  await w.discovered(1)
  await w.rounded('a', 1)
  await w.rounded('b', 1)

  // b's node stops, its registration expires and its peer-book row is past the window.
  w.online.delete('b')
  w.state.discovered = { targets: [targetOf('a')], known: new Set(['a']) }
  clock.increment(10 * second)
  await w.discovered(2)
  await w.rounded('a', 2)
  t.deepEqual(w.forgotten, ['b'])
  t.is(w.peer('b'), undefined, 'b has no machine any more')
  t.deepEqual(Object.keys(w.actor.getSnapshot().context.peers), ['a'])
  const bDials = w.dialsOf('b')
  for (let i = 0; i < 30; i++) {
    clock.increment(10 * second)
    await w.discovered(3 + i)
    await w.rounded('a', 3 + i)
  }
  t.is(w.dialsOf('b'), bDials, 'five minutes later, b was not dialed again')
  t.is(w.forgotten.length, 1)

  // b comes back: the next discovery spawns a machine for it and dials it at once.
  w.online.add('b')
  w.state.discovered = { targets: [targetOf('a'), targetOf('b')], known: new Set(['a', 'b']) }
  const roundsBefore = w.roundsOf('b')
  clock.increment(10 * second)
  await w.discovered(33)
  await w.rounded('b', roundsBefore + 1)
  t.is(w.dialsOf('b'), bDials + 1)
  t.true(w.rounds.at(-1)?.ok)
  w.actor.stop()
})

test('a peer still in the peer book\'s window, though no tracker lists it, keeps its machine', async (t) => {
  const clock = new SimulatedClock()
  const w = world(clock)
  w.online.add('a').add('b')
  w.state.discovered = { targets: [targetOf('a'), targetOf('b')], known: new Set(['a', 'b']) }
  w.actor.start()
  await w.rounded('b', 1)
  w.state.discovered = { targets: [targetOf('a')], known: new Set(['a', 'b']) }
  clock.increment(10 * second)
  await w.discovered(2)
  await w.rounded('b', 2)
  t.deepEqual(w.forgotten, [])
  t.is(w.dialsOf('b'), 2)
  w.actor.stop()
})

test('a fixed list of peers (discovery cannot tell who left) forgets nobody, and a failed discovery forgets nobody', async (t) => {
  const clock = new SimulatedClock()
  const w = world(clock)
  w.online.add('a')
  w.state.discovered = { targets: [targetOf('a')] }
  w.actor.start()
  await w.rounded('a', 1)
  w.state.discovered = { targets: [] }
  clock.increment(10 * second)
  await w.discovered(2)
  await w.rounded('a', 2)
  t.not(w.peer('a'), undefined)
  w.state.trackersDown = true
  w.state.discovered = { targets: [], known: new Set() }
  clock.increment(10 * second)
  await w.discovered(3)
  await w.rounded('a', 3)
  t.not(w.peer('a'), undefined)
  t.deepEqual(w.forgotten, [])
  w.actor.stop()
})

/** Moves the clock one ms short of `delayMs`, checks the peer still waits, then lets its next round run. */
async function nextRound (t: ExecutionContext, clock: SimulatedClock, w: ReturnType<typeof world>, key: string, delayMs: number, inRoundMs = 0): Promise<void> {
  const n = w.roundsOf(key)
  clock.increment(delayMs - 1)
  t.is(w.roundsOf(key), n)
  t.true(w.peer(key)!.getSnapshot().matches('waiting'), `still waiting ${delayMs - 1} ms after the round`)
  clock.increment(1)
  // A refused dial is retried twice in the round, 375 then 750 ms later (dial backoff with random 0.5).
  for (const wait of inRoundMs > 0 ? [375, 750] : []) {
    await waitFor(w.peer(key)!, (s) => s.matches({ dialingDirect: 'backoff' }), { timeout: 2 * second })
    clock.increment(wait)
  }
  await w.rounded(key, n + 1)
}

test('a peer that keeps failing for good is retried after a wait that doubles each round, up to the cap', async (t) => {
  const clock = new SimulatedClock()
  const w = world(clock)
  w.failure.set('x', () => new SwarmKeyMismatchError('/ip4/127.0.0.1/tcp/1'))
  w.state.discovered = { targets: [targetOf('x')], known: new Set(['x']) }
  w.actor.start()
  await w.rounded('x', 1)
  t.is(w.dialsOf('x'), 1, 'a permanent error is not retried within the round')
  // interval 10 s with random 0.5: 10 s after the first failure, then 0.75 × 20 s, 40 s, 80 s … (equal jitter).
  for (const delay of [10_000, 15_000, 30_000, 60_000, 120_000, 240_000, 480_000, 960_000, 1_920_000, 2_700_000, 2_700_000]) {
    await nextRound(t, clock, w, 'x', delay)
  }
  t.is(w.dialsOf('x'), 12)
  t.true(w.rounds.every((r) => !r.ok))
  w.actor.stop()
})

test('a peer refusing connections round after round backs off across rounds; one good round resets the wait', async (t) => {
  const clock = new SimulatedClock()
  const w = world(clock)
  w.state.discovered = { targets: [targetOf('y')], known: new Set(['y']) }
  w.actor.start()
  await w.discovered(1)
  for (const wait of [375, 750]) {
    await waitFor(w.peer('y')!, (s) => s.matches({ dialingDirect: 'backoff' }), { timeout: 2 * second })
    clock.increment(wait)
  }
  await w.rounded('y', 1)
  t.is(w.dialsOf('y'), 3)
  for (const delay of [10_000, 15_000, 30_000]) await nextRound(t, clock, w, 'y', delay, 1)
  t.is(w.dialsOf('y'), 12, '3 dials per round, 4 rounds')
  w.online.add('y')
  await nextRound(t, clock, w, 'y', 60_000)
  t.true(w.rounds.at(-1)?.ok)
  await nextRound(t, clock, w, 'y', 10_000)
  t.true(w.rounds.at(-1)?.ok)
  w.actor.stop()
})

/** A healthy peer 'ok' and a peer 'bad' with the wrong swarm key, after bad's second failed round in a row. */
async function okAndFailing (t: ExecutionContext): Promise<{ clock: SimulatedClock, w: ReturnType<typeof world> }> {
  const clock = new SimulatedClock()
  const w = world(clock)
  w.online.add('ok')
  w.failure.set('bad', () => new SwarmKeyMismatchError('/ip4/127.0.0.1/tcp/1'))
  w.state.discovered = { targets: [targetOf('ok'), targetOf('bad')], known: new Set(['ok', 'bad']) }
  w.actor.start()
  await w.rounded('ok', 1)
  await w.rounded('bad', 1)
  await nextRound(t, clock, w, 'bad', 10_000)
  await w.rounded('ok', 2)
  return { clock, w }
}

test('sync.now starts a healthy peer\'s round at once, but does not cut a failing peer\'s backoff short', async (t) => {
  const { clock, w } = await okAndFailing(t)
  // bad has failed twice in a row: it now waits 15 s. A command is recorded here.
  const okRounds = w.roundsOf('ok')
  w.actor.send({ type: 'sync.now' })
  await w.rounded('ok', okRounds + 1)
  t.is(w.roundsOf('bad'), 2)
  t.true(w.peer('bad')!.getSnapshot().matches('waiting'))
  await nextRound(t, clock, w, 'bad', 15_000)
  t.is(w.dialsOf('bad'), 3)
  w.actor.stop()
})

test('a peer backing off that connects to us is tried at once; a healthy one is not disturbed', async (t) => {
  const { w } = await okAndFailing(t)
  // bad failed twice: it waits 15 s. It comes back and dials us.
  w.online.add('bad')
  w.actor.send({ type: 'peer.seen', key: 'bad' })
  await w.rounded('bad', 3)
  t.true(w.rounds.at(-1)?.ok, 'tried at once (the clock did not move) and synced')
  w.actor.send({ type: 'peer.seen', key: 'ok' })
  w.actor.send({ type: 'peer.seen', key: 'bad' })
  t.is(w.roundsOf('ok'), 2, 'a healthy peer keeps its interval')
  t.true(w.peer('ok')!.getSnapshot().matches('waiting'))
  t.true(w.peer('bad')!.getSnapshot().matches('waiting'), 'and so does one that is no longer backing off')
  w.actor.stop()
})

test('one-shot: done once every peer finished, with their outcomes', async (t) => {
  const clock = new SimulatedClock()
  const w = world(clock, { ...watch, watch: false })
  w.online.add('a')
  w.failure.set('b', () => new SwarmKeyMismatchError('/ip4/127.0.0.1/tcp/1'))
  w.state.discovered = { targets: [targetOf('a'), targetOf('b')] }
  w.actor.start()
  const done = await waitFor(w.actor, (s) => s.status === 'done', { timeout: 2 * second })
  t.deepEqual(done.output?.outcomes.map((o) => [o.key, o.ok]).sort(), [['a', true], ['b', false]])
  t.is(w.state.discoveries, 1)
})
