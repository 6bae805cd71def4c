import { appendFileSync, existsSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'ava'
import { createActor } from 'xstate'
import { createPeerSyncMachine, type PeerSyncDependencies } from '../../machines/peer-sync.machine.js'
import { createRootMachine, peerActorId } from '../../machines/root.machine.js'
import type { Link, PeerTarget } from '../../src/sync/types.js'
import { inspectorGraphs } from '../../src/inspect/graph.js'
import { TraceFollower } from '../../src/inspect/server.js'
import { findLiveTraces, inspectSink, liveTraceDir } from '../../src/inspect/sink.js'
import { parseTrace, statePaths, type TraceRecord } from '../../src/inspect/trace.js'
import { tempDir } from '../helpers/tmp.js'

const peerId = '12D3KooWTestPeer'

function deps (dialDirect: PeerSyncDependencies['dialDirect']): PeerSyncDependencies {
  return {
    discover: async (target) => target,
    dialDirect,
    dialRelay: async () => { throw new Error('no relay') },
    watchUpgrade: () => () => {},
    pullLoop: (_input, sendBack) => { queueMicrotask(() => sendBack({ type: 'pull.done', pulled: 2, inserted: 2 })); return () => {} },
    pushLoop: (_input, sendBack) => { queueMicrotask(() => sendBack({ type: 'push.done', pushed: 0 })); return () => {} },
    closeLink: () => {},
    roundFinished: () => {},
    random: () => 0,
    now: Date.now
  }
}

async function runTraced (file: string, dialDirect: PeerSyncDependencies['dialDirect']): Promise<TraceRecord[]> {
  const target: PeerTarget = { key: peerId, peerId, addrs: ['/ip4/127.0.0.1/tcp/9/p2p/' + peerId], source: 'peers', relayAddr: '/ip4/127.0.0.1/tcp/7/p2p/12D3KooWRelay' }
  const root = createRootMachine({ discoverPeers: async () => ({ targets: [target] }), peerMachine: createPeerSyncMachine(deps(dialDirect)), random: () => 0 })
  const sink = inspectSink(file)
  const actor = createActor(root, { id: 'root', input: { options: { push: false, watch: false, intervalSec: 60, limit: 100 } }, inspect: sink.observe })
  await new Promise<void>((resolve) => { actor.subscribe({ complete: resolve }); actor.start() })
  await sink.close()
  return parseTrace(readFileSync(file, 'utf8'))
}

const link = (addr: string): Link => ({ transport: { peerId, remoteAddr: addr, path: 'direct', pull: async () => new Uint8Array(), push: async () => ({ ok: true, inserted: 0, ignored: 0 }), close: async () => {} }, path: 'direct', addr, connectionId: 'c1' })

test('the trace attributes invoked actors to their peer and records each transition with its dial details', async (t) => {
  const file = join(tempDir(t), 'trace.jsonl')
  let calls = 0
  const records = await runTraced(file, async (input) => {
    calls++
    if (calls === 1) throw Object.assign(new Error('connection refused'), { name: 'DialError' })
    return link(input.target.addrs[0]!)
  })
  const peer = peerActorId(peerId)
  // Lifecycle: the peer machine is spawned by root, its dial actors are attributed to the peer.
  t.true(records.some((r) => r.kind === 'actor' && r.actor === peer && r.parent === 'root' && r.src === 'peer'))
  const dialActors = records.filter((r) => r.kind === 'actor' && r.src === 'dialDirect')
  t.is(dialActors.length, 2)
  t.true(dialActors.every((r) => r.peer === peerId && r.parent === peer))
  // Transitions, including the eventless ones a snapshot alone would hide.
  const steps = records.filter((r) => r.kind === 'transition' && r.actor === peer).map((r) => `${r.from!.join(',')}>${r.to!.join(',')}`)
  t.deepEqual(steps, [
    'discovering>choosingPath', 'choosingPath>dialingDirect', 'dialingDirect.attempting>dialingDirect.failedAttempt',
    'dialingDirect.failedAttempt>dialingDirect.backoff', 'dialingDirect.backoff>dialingDirect.attempting',
    'dialingDirect.attempting>connected', 'connected.sync.beforePull,connected.upgrade.checking>connected.sync.pulling,connected.upgrade.direct',
    'connected.sync.pulling>connected.sync.finished', 'connected>synced', 'synced>done'
  ])
  const failed = records.find((r) => r.kind === 'transition' && r.to?.[0] === 'dialingDirect.failedAttempt')!
  t.is(failed.path, 'direct')
  t.is(failed.attempt, 1)
  t.is(failed.addr, `/ip4/127.0.0.1/tcp/9/p2p/${peerId}`)
  t.regex(failed.error ?? '', /^direct: connection refused/)
  t.true(records.some((r) => r.kind === 'event' && r.actor === peer && /^xstate\.error\.actor/.test(r.event ?? '') && r.error === 'connection refused'))
  const last = records.filter((r) => r.kind === 'snapshot' && r.actor === peer).at(-1)!
  t.deepEqual(last.state, ['done'])
  t.is(last.status, 'done')
  t.true(records.some((r) => r.actor === 'root' && r.kind === 'transition' && r.to?.[0] === 'done'))
})

test('a peer\'s error text goes into the trace as the same JSON value with no raw control character (--inspect=- writes it to a terminal)', async (t) => {
  const file = join(tempDir(t), 'trace.jsonl')
  const hostile = 'refused \u001b]0;PWNED\u0007\u009b2J\u007f\u202e'
  let calls = 0
  const records = await runTraced(file, async (input) => {
    if (++calls === 1) throw Object.assign(new Error(hostile), { name: 'DialError' })
    return link(input.target.addrs[0]!)
  })
  t.true(records.some((r) => r.kind === 'event' && r.error === hostile), 'the error text is exact')
  t.false(/[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u202a-\u202e]/.test(readFileSync(file, 'utf8')))
})

test('parseTrace keeps only lines of a record\'s shape: a field of another type would stop the page from drawing', (t) => {
  const ok = { ts: '2026-01-01T00:00:00.000Z', kind: 'snapshot', actor: 'peer:a', peer: 'a', state: ['done'], status: 'done' }
  const lines = [
    ok,
    { ...ok, state: 'discovering' },
    { ...ok, state: [1] },
    { ...ok, event: 7 },
    { ...ok, kind: 'other' },
    { ...ok, ts: 1 },
    { ...ok, attempt: { n: 1 } },
    [ok],
    { ...ok, peer: '__proto__', actor: 'peer:__proto__', attempt: 2 }
  ].map((x) => JSON.stringify(x))
  t.deepEqual(parseTrace(lines.join('\n')).map((r) => r.peer), ['a', '__proto__'])
})

test('a relay dial step carries the circuit address', async (t) => {
  const file = join(tempDir(t), 'trace.jsonl')
  const records = await runTraced(file, async () => { throw Object.assign(new Error('refused'), { name: 'DialError' }) })
  const relay = records.find((r) => r.kind === 'transition' && r.to?.[0] === 'dialingRelay')!
  t.is(relay.path, 'relay')
  t.is(relay.addr, `/ip4/127.0.0.1/tcp/7/p2p/12D3KooWRelay/p2p-circuit/p2p/${peerId}`)
  t.deepEqual(records.filter((r) => r.kind === 'snapshot' && r.actor === peerActorId(peerId)).at(-1)!.state, ['gaveUp'])
})

test('statePaths flattens nested and parallel state values', (t) => {
  t.deepEqual(statePaths('done'), ['done'])
  t.deepEqual(statePaths({ dialingDirect: 'backoff' }), ['dialingDirect.backoff'])
  t.deepEqual(statePaths({ connected: { sync: 'pulling', upgrade: 'watching' } }), ['connected.sync.pulling', 'connected.upgrade.watching'])
  t.deepEqual(statePaths(undefined), [])
})

test('the follower returns only complete lines and picks up what is appended later', (t) => {
  const file = join(tempDir(t), 'live.jsonl')
  const follower = new TraceFollower(file)
  t.deepEqual(follower.poll(), [], 'a missing file is simply empty')
  writeFileSync(file, '{"ts":"1","kind":"actor","actor":"root"}\n{"ts":"2","kind":"ev')
  t.deepEqual(follower.poll().map((r) => r.ts), ['1'])
  appendFileSync(file, 'ent","actor":"root","event":"x"}\nnot json\n')
  t.deepEqual(follower.poll().map((r) => `${r.ts}:${r.kind}`), ['2:event'])
  t.deepEqual(follower.poll(), [])
  writeFileSync(file, '{"ts":"3","kind":"actor","actor":"root"}\n')
  t.deepEqual(follower.poll().map((r) => r.ts), ['3'], 'a replaced (shorter) file is read from its start')
})

test('a file trace announces itself for --attach while it is written', async (t) => {
  const dir = tempDir(t)
  const liveDir = liveTraceDir(join(dir, 'history.db'))
  t.is(liveDir, join(dir, 'inspect-live'))
  t.deepEqual(findLiveTraces(liveDir), [])
  const sink = inspectSink(join(dir, 'trace.jsonl'), { liveDir })
  const live = findLiveTraces(liveDir)
  t.is(live.length, 1)
  t.is(live[0]!.pid, process.pid)
  t.is(live[0]!.trace, join(dir, 'trace.jsonl'))
  // A dead process's announcement is ignored.
  writeFileSync(join(liveDir, '999999999.json'), JSON.stringify({ pid: 999999999, trace: '/nope', startedAt: '9999' }))
  t.is(findLiveTraces(liveDir).length, 1)
  await sink.close()
  t.false(existsSync(join(liveDir, `${process.pid}.json`)))
  t.deepEqual(findLiveTraces(liveDir), [])
})

test('the diagrams come from the machine definitions: every state and the dial fallbacks are drawn', (t) => {
  const { peer, root } = inspectorGraphs()
  const ids = peer.nodes.map((n) => n.id)
  for (const id of ['discovering', 'choosingPath', 'dialingDirect.attempting', 'dialingDirect.failedAttempt', 'dialingDirect.backoff',
    'dialingRelay.attempting', 'connected.sync.pulling', 'connected.sync.pushing', 'connected.upgrade.watching', 'connected.upgrade.upgraded',
    'connected.upgrade.stayedOnRelay', 'synced', 'syncFailed', 'syncBackoff', 'failed', 'waiting', 'done', 'gaveUp']) {
    t.true(ids.includes(id), id)
  }
  const edges = new Set(peer.edges.map((e) => `${e.from}>${e.to}`))
  for (const e of ['choosingPath>dialingDirect', 'dialingDirect.failedAttempt>dialingRelay', 'dialingDirect.backoff>dialingDirect.attempting',
    'dialingRelay.attempting>connected', 'connected.upgrade.watching>connected.upgrade.upgraded', 'syncBackoff>choosingPath', 'failed>gaveUp', 'waiting>discovering']) {
    t.true(edges.has(e), e)
  }
  t.true(peer.edges.find((e) => e.from === 'dialingDirect.failedAttempt' && e.to === 'dialingDirect.backoff')!.labels.some((l) => l.includes('retryDirect')))
  t.deepEqual(root.nodes.map((n) => n.id).sort(), ['discovering', 'done', 'supervising'])
  // Boxes stay inside the drawing and siblings never overlap.
  for (const n of peer.nodes) t.true(n.x >= 0 && n.y >= 0 && n.x + n.w <= peer.width && n.y + n.h <= peer.height, n.id)
  const siblings = peer.nodes.filter((n) => n.parent == null)
  for (const a of siblings) {
    for (const b of siblings) {
      if (a === b) continue
      const overlap = a.x < b.x + b.w && b.x < a.x + a.w && a.y < b.y + b.h && b.y < a.y + a.h
      t.false(overlap, `${a.id} overlaps ${b.id}`)
    }
  }
})
