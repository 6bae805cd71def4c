/**
 * Hole punching over an emulated 50 ms link: two devices behind NAT routers and a relay, each on its own link to a
 * "pub" namespace that forwards between them and delays every packet it forwards by 25 ms. So device to device is a
 * 50 ms round trip, device to relay 50 ms, and a relayed round trip 100 ms. Measures, from `p2p-sync --inspect`'s
 * trace: the time from the relayed connection to the upgraded one, and the pull of the same batch after the upgrade
 * and on the relay (the second device's NAT randomises ports there, so DCUtR fails).
 * The delay is not `tc netem`: this machine's kernel has no sch_netem (nor sch_fq) and no modules; it has NFQUEUE,
 * so nfqueue-delay.py holds each packet for 25 ms in user space. Needs root, iproute2, iptables and python3, like
 * the netns tests. `BENCH_ONLY=dcutr npm run bench`; BENCH_DCUTR_ENTRIES sets the batch (default 20000).
 */
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import type { ExecutionContext } from 'ava'
import { isolatedEnv } from '../helpers/cli.js'
import { ensureSwarmKey } from '../helpers/keys.js'
import { NetLab } from '../helpers/netns.js'
import { seedEntries } from '../helpers/peers.js'

const oneWayDelayMs = 25
const delayScript = fileURLToPath(new URL('../../../test/bench/nfqueue-delay.py', import.meta.url))

async function must (lab: NetLab, ns: string, cmd: string[]): Promise<void> {
  const r = await lab.exec(ns, cmd)
  if (r.code !== 0) throw new Error(`${cmd.join(' ')} in ${ns}: ${r.stderr.trim()}`)
}

/** Delays every packet `pub` forwards by the one-way delay (until the lab's teardown kills the delayer). */
async function delayForwarding (lab: NetLab, pub: string): Promise<void> {
  await must(lab, pub, ['iptables', '-t', 'mangle', '-A', 'FORWARD', '-j', 'NFQUEUE', '--queue-num', '0'])
  const delayer = spawn('ip', ['netns', 'exec', pub, 'python3', delayScript, '0', String(oneWayDelayMs)], { stdio: ['ignore', 'pipe', 'inherit'] })
  await new Promise<void>((resolve, reject) => {
    delayer.once('exit', (code) => reject(new Error(`nfqueue-delay.py exited (${code})`)))
    delayer.stdout.once('data', () => resolve())
  })
}

/** pub — router n (100.199.n.2, MASQUERADE, drops unsolicited) — device 10.199.n.2; the WAN link delayed both ways. */
async function site (lab: NetLab, pub: string, n: number, nat: 'preserving' | 'random'): Promise<string> {
  const router = await lab.addNamespace(`r${n}`)
  const peer = await lab.addNamespace(`p${n}`)
  const [, wan] = await lab.link(pub, `100.199.${n}.1/24`, router, `100.199.${n}.2/24`)
  await lab.link(router, `10.199.${n}.1/24`, peer, `10.199.${n}.2/24`)
  await lab.forwarding(router)
  await must(lab, router, ['iptables', '-t', 'nat', '-A', 'POSTROUTING', '-o', wan, '-j', 'MASQUERADE', ...(nat === 'random' ? ['--random-fully'] : [])])
  await must(lab, router, ['iptables', '-A', 'INPUT', '-i', wan, '-p', 'tcp', '-m', 'conntrack', '--ctstate', 'NEW', '-j', 'DROP'])
  await lab.route(router, '100.199.0.0/16', `100.199.${n}.1`)
  await lab.route(peer, '100.199.0.0/16', `10.199.${n}.1`)
  return peer
}

interface TraceLine { ts: string, kind: string, actor: string, state?: string[] }

/** When the peer machine first reached a state matching `test`, in ms since the epoch. */
function firstAt (records: TraceLine[], test: (path: string) => boolean): number | undefined {
  const found = records.find((r) => r.actor.startsWith('peer:') && (r.state ?? []).some(test))
  return found != null ? Date.parse(found.ts) : undefined
}

interface Run { relayToUpgradeMs?: number, pullMs?: number, path: string, log: string }

async function scenario (nat: 'preserving' | 'random', entries: number): Promise<Run> {
  const lab = new NetLab(undefined as unknown as ExecutionContext)
  const dir = mkdtempSync(join(tmpdir(), 'rustory-bench-dcutr-'))
  try {
    const swarm = join(dir, 'swarm.key')
    ensureSwarmKey(swarm)
    const pub = await lab.addNamespace('pub')
    await lab.forwarding(pub)
    const deviceA = await site(lab, pub, 1, 'preserving')
    const deviceB = await site(lab, pub, 2, nat)
    // The relay on its own WAN link.
    const relayNs = await lab.addNamespace('relay')
    await lab.link(pub, '100.199.3.1/24', relayNs, '100.199.3.2/24')
    await lab.route(relayNs, '100.199.0.0/16', '100.199.3.1')
    await delayForwarding(lab, pub)

    const dbA = join(dir, 'a.db')
    seedEntries(dbA, entries, 'devA', { cmdBytes: 60 })
    const relay = lab.rr(relayNs, ['relay-serve', '--listen', '/ip4/0.0.0.0/tcp/4001'], isolatedEnv(join(dir, 'relay'), { RUSTORY_SWARM_KEY_PATH: swarm }))
    const relayId = (await relay.waitFor(/relay listen: \/ip4\/100\.199\.3\.2\/tcp\/4001\/p2p\/(\w+)/, 90_000))[1]!
    const relayAddr = `/ip4/100.199.3.2/tcp/4001/p2p/${relayId}`
    const serve = lab.rr(deviceA, ['--db-path', dbA, 'p2p-serve', '--listen', '/ip4/0.0.0.0/tcp/8845', '--relay', relayAddr],
      isolatedEnv(join(dir, 'a'), { RUSTORY_SWARM_KEY_PATH: swarm, RUSTORY_DEVICE_ID: 'devA' }))
    const peerA = (await serve.waitFor(/p2p listen: \S+\/p2p-circuit\/p2p\/(\w+)/, 90_000))[1]!
    await serve.waitFor(/p2p: public address from identify: \/ip4\/100\.199\.1\.2\/tcp\/8845 /, 90_000)
    const trace = join(dir, 'trace.jsonl')
    const sync = lab.rr(deviceB, ['--db-path', join(dir, 'b.db'), 'p2p-sync', `--inspect=${trace}`, '--listen', '/ip4/0.0.0.0/tcp/7001',
      '--peers', `${relayAddr}/p2p-circuit/p2p/${peerA}`, '--relay', relayAddr], isolatedEnv(join(dir, 'b'), { RUSTORY_SWARM_KEY_PATH: swarm, RUSTORY_DEVICE_ID: 'devB' }))
    const code = await sync.exited(300_000)
    const log = sync.output()
    if (code !== 0) throw new Error(`p2p-sync exited ${code}:\n${log}`)
    const records = readFileSync(trace, 'utf8').split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as TraceLine)
    const connected = firstAt(records, (p) => p.startsWith('connected'))
    const upgraded = firstAt(records, (p) => p === 'connected.upgrade.upgraded')
    const pulling = firstAt(records, (p) => p === 'connected.sync.pulling')
    const pulled = firstAt(records, (p) => p === 'connected.sync.finished' || p === 'synced')
    const path = /sync: peer=\w+ ok path=(\w+)/.exec(log)?.[1] ?? 'unknown'
    return {
      path,
      log,
      ...(connected != null && upgraded != null ? { relayToUpgradeMs: upgraded - connected } : {}),
      ...(pulling != null && pulled != null ? { pullMs: pulled - pulling } : {})
    }
  } finally {
    await lab.teardown()
    rmSync(dir, { recursive: true, force: true })
  }
}

export async function benchDcutr (): Promise<Record<string, unknown>> {
  const entries = Number(process.env.BENCH_DCUTR_ENTRIES ?? 20_000)
  const upgraded = await scenario('preserving', entries)
  if (upgraded.path !== 'dcutr') throw new Error(`expected an upgrade between port-preserving NATs, got path=${upgraded.path}:\n${upgraded.log}`)
  const relayed = await scenario('random', entries)
  if (relayed.path !== 'relay') throw new Error(`expected the relay behind --random-fully, got path=${relayed.path}:\n${relayed.log}`)
  return {
    'dcutr links': `every packet between sites +${oneWayDelayMs} ms (NFQUEUE): device to device and device to relay 50 ms RTT, relayed 100 ms RTT`,
    'dcutr relay connect to upgraded (ms)': upgraded.relayToUpgradeMs ?? 'n/a',
    [`dcutr pull ${entries} entries after the upgrade (ms)`]: upgraded.pullMs ?? 'n/a',
    [`dcutr pull ${entries} entries on the relay (ms)`]: relayed.pullMs ?? 'n/a'
  }
}
