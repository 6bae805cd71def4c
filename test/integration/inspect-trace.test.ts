/** Real syncs with --inspect=FILE: the trace shows the dial path taken, step by step. */
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'ava'
import type { TraceRecord } from '../../src/inspect/trace.js'
import { parseTrace } from '../../src/inspect/trace.js'
import { rrSpawn, stop } from '../helpers/cli.js'
import { device } from '../helpers/peers.js'
import { tempDir } from '../helpers/tmp.js'

function readTrace (file: string): TraceRecord[] {
  return parseTrace(readFileSync(file, 'utf8'))
}

/** The peer machine's transitions as "from>to". */
function steps (records: TraceRecord[], peerId: string): string[] {
  return records.filter((r) => r.kind === 'transition' && r.actor === `peer:${peerId}`).map((r) => `${r.from!.join(',')}>${r.to!.join(',')}`)
}

const peerIdOf = (addr: string): string => addr.slice(addr.lastIndexOf('/p2p/') + 5)

test('direct success: the trace shows discover, one direct dial, pull and done, with the address and path', async (t) => {
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  const a = device(t, dir, 'devA', swarm)
  const b = device(t, dir, 'devB', swarm)
  await a.record(3)
  const { addr } = await a.serve()
  const file = join(dir, 'trace.jsonl')
  const run = await b.rr(['p2p-sync', '--peers', addr, `--inspect=${file}`])
  t.is(run.code, 0, run.stderr)
  const records = readTrace(file)
  const peerId = peerIdOf(addr)
  t.deepEqual(steps(records, peerId), [
    'discovering>choosingPath', 'choosingPath>dialingDirect', 'dialingDirect.attempting>connected',
    'connected.sync.beforePull,connected.upgrade.checking>connected.sync.pulling,connected.upgrade.direct',
    'connected.sync.pulling>connected.sync.finished', 'connected>synced', 'synced>done'
  ])
  const connected = records.find((r) => r.kind === 'transition' && r.to?.[0] === 'connected')!
  t.is(connected.path, 'direct')
  t.is(connected.addr, addr)
  t.is(connected.peer, peerId)
  // Lifecycles: root, the peer machine, and its invoked dial and pull actors.
  t.true(records.some((r) => r.kind === 'actor' && r.actor === 'root'))
  t.true(records.some((r) => r.kind === 'actor' && r.actor === `peer:${peerId}` && r.parent === 'root'))
  t.true(records.some((r) => r.kind === 'actor' && r.src === 'dialDirect' && r.peer === peerId))
  t.true(records.some((r) => r.kind === 'actor' && r.src === 'pullLoop' && r.peer === peerId))
  t.true(records.some((r) => r.kind === 'event' && r.event === 'pull.done' && r.actor === `peer:${peerId}` && r.source === 'pullLoop'))
  t.true(records.every((r) => !Number.isNaN(Date.parse(r.ts))))
  t.deepEqual(records.filter((r) => r.actor === 'root' && r.kind === 'snapshot').at(-1)!.state, ['done'])
  t.is(b.entryIds().length, 3)
})

test('failure: a peer that is not running is dialed three times with backoff, then the machine gives up with the error', async (t) => {
  const dir = tempDir(t)
  const b = device(t, dir, 'devB', join(dir, 'swarm.key'))
  const peerId = '12D3KooWLeRSiA9vM22fUedungBGiRPQpUzetZi9YhsPYYEkjrp3'
  const addr = `/ip4/127.0.0.1/tcp/1/p2p/${peerId}`
  const file = join(dir, 'trace.jsonl')
  const run = await b.rr(['p2p-sync', '--peers', addr, `--inspect=${file}`])
  t.is(run.code, 1)
  const records = readTrace(file)
  const s = steps(records, peerId)
  t.deepEqual(s, [
    'discovering>choosingPath', 'choosingPath>dialingDirect',
    'dialingDirect.attempting>dialingDirect.failedAttempt', 'dialingDirect.failedAttempt>dialingDirect.backoff', 'dialingDirect.backoff>dialingDirect.attempting',
    'dialingDirect.attempting>dialingDirect.failedAttempt', 'dialingDirect.failedAttempt>dialingDirect.backoff', 'dialingDirect.backoff>dialingDirect.attempting',
    'dialingDirect.attempting>dialingDirect.failedAttempt', 'dialingDirect.failedAttempt>failed', 'failed>gaveUp'
  ])
  const attempts = records.filter((r) => r.kind === 'transition' && r.to?.[0] === 'dialingDirect.failedAttempt')
  t.deepEqual(attempts.map((r) => r.attempt), [1, 2, 3])
  for (const r of attempts) {
    t.is(r.path, 'direct')
    t.is(r.addr, addr)
    t.regex(r.error ?? '', /^direct: .*ECONNREFUSED/)
  }
  // The backoff really waits between attempts.
  const backoffs = records.filter((r) => r.kind === 'transition' && r.from?.[0] === 'dialingDirect.backoff')
  const entered = records.filter((r) => r.kind === 'transition' && r.to?.[0] === 'dialingDirect.backoff')
  t.is(backoffs.length, 2)
  backoffs.forEach((r, i) => t.true(Date.parse(r.ts) - Date.parse(entered[i]!.ts) >= 100, `backoff ${i + 1} waited`))
  const last = records.filter((r) => r.kind === 'snapshot' && r.actor === `peer:${peerId}`).at(-1)!
  t.deepEqual(last.state, ['gaveUp'])
  t.regex(last.error ?? '', /ECONNREFUSED/)
  t.true(records.some((r) => r.kind === 'event' && /^xstate\.error\.actor\./.test(r.event ?? '') && /ECONNREFUSED/.test(r.error ?? '')))
})

test('direct failure, then relay success: the trace shows the fallback to the circuit address', async (t) => {
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  const a = device(t, dir, 'devA', swarm)
  const b = device(t, dir, 'devB', swarm)
  await a.record(2)
  const relay = await rrSpawn(['relay-serve', '--listen', '/ip4/127.0.0.1/tcp/0', '--identity-key', join(dir, 'relay.key')], { env: a.env, ready: /relay listen: (\S+)/ })
  t.teardown(async () => { await stop(relay.child) })
  const relayAddr = relay.match[1]!
  // p2p-serve prints its circuit address once the relay reservation is in place.
  const served = await rrSpawn(['--db-path', a.dbPath, 'p2p-serve', '--listen', '/ip4/127.0.0.1/tcp/0', '--relay', relayAddr], { env: a.env, ready: /p2p listen: (\S+\/p2p-circuit\/p2p\/(\w+))/ })
  t.teardown(async () => { await stop(served.child) })
  const peerId = served.match[2]!
  const closedPort = `/ip4/127.0.0.1/tcp/1/p2p/${peerId}`
  const file = join(dir, 'trace.jsonl')
  const run = await b.rr(['p2p-sync', '--peers', closedPort, '--relay', relayAddr, `--inspect=${file}`])
  t.is(run.code, 0, run.stderr)
  t.regex(run.stdout, /ok path=relay/)
  const records = readTrace(file)
  const s = steps(records, peerId)
  t.deepEqual(s.slice(0, 2), ['discovering>choosingPath', 'choosingPath>dialingDirect'])
  t.is(s.filter((x) => x === 'dialingDirect.attempting>dialingDirect.failedAttempt').length, 3)
  const fallback = s.indexOf('dialingDirect.failedAttempt>dialingRelay')
  t.true(fallback > 0, s.join(' | '))
  // Connected over the relay, after relay retries only (a starved machine can time out a first relay dial).
  const relayed = s.indexOf('dialingRelay.attempting>connected')
  t.true(relayed > fallback, s.join(' | '))
  t.true(s.slice(fallback + 1, relayed).every((x) => x.startsWith('dialingRelay.')), s.join(' | '))
  t.true(s.includes('connected.sync.beforePull,connected.upgrade.checking>connected.sync.awaitingUpgrade,connected.upgrade.watching'), 'a relayed link waits for DCUtR before pulling')
  // On loopback DCUtR has no public address to punch to: the upgrade region ends on the relay, with DCUtR's reason.
  t.true(s.includes('connected.sync.awaitingUpgrade,connected.upgrade.watching>connected.sync.pulling,connected.upgrade.stayedOnRelay'), s.join(' | '))
  const failed = records.find((r) => r.kind === 'event' && r.actor === `peer:${peerId}` && r.event === 'dcutr.failed')
  t.regex(failed?.error ?? '', /DCUtR connect message had no (dialable )?multiaddrs/)
  t.true(s.includes('connected.sync.pulling>connected.sync.finished'))
  t.is(s.at(-1), 'synced>done')
  const toRelay = records.find((r) => r.kind === 'transition' && r.to?.[0] === 'dialingRelay')!
  t.is(toRelay.path, 'relay')
  t.is(toRelay.attempt, 1)
  t.is(toRelay.addr, `${relayAddr}/p2p-circuit/p2p/${peerId}`)
  t.regex(toRelay.error ?? '', /^direct: .*ECONNREFUSED/, 'the direct failure that caused the fallback')
  const connected = records.find((r) => r.kind === 'transition' && r.to?.[0] === 'connected')!
  t.is(connected.path, 'relay')
  t.is(connected.error, undefined)
  t.is(b.entryIds().length, 2)
})
