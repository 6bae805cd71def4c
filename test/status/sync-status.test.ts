import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test from 'ava'
import { openDatabase } from '../../src/store/db.js'
import { setPushCursor, updateSyncStatus, upsertPeerBook } from '../../src/store/peers.js'
import { classifyPeer, exitCodeOf, summaryLine, syncStatusLine, syncStatusReport, type PeerHealth } from '../../src/status/sync-status.js'
import { isolatedEnv, rr } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'

const hour = 3600
const now = 1_800_000_000

const cases: Array<{ name: string, row: { last_pull_unix: number | null, last_error: string | null, last_error_unix: number | null }, staleHours?: number, state: PeerHealth, stale: boolean, failing: boolean }> = [
  { name: 'pulled an hour ago, no error', row: { last_pull_unix: now - hour, last_error: null, last_error_unix: null }, state: 'ok', stale: false, failing: false },
  { name: 'pulled exactly at the threshold', row: { last_pull_unix: now - 24 * hour, last_error: null, last_error_unix: null }, state: 'ok', stale: false, failing: false },
  { name: 'pulled just past the threshold', row: { last_pull_unix: now - 24 * hour - 1, last_error: null, last_error_unix: null }, state: 'stale', stale: true, failing: false },
  { name: 'never pulled, never failed (seen in the peer book only)', row: { last_pull_unix: null, last_error: null, last_error_unix: null }, state: 'stale', stale: true, failing: false },
  { name: 'an old error, then a good pull', row: { last_pull_unix: now - hour, last_error: 'direct: refused', last_error_unix: now - 2 * hour }, state: 'ok', stale: false, failing: false },
  { name: 'a good pull, then an error', row: { last_pull_unix: now - 2 * hour, last_error: 'direct: refused', last_error_unix: now - hour }, state: 'failing', stale: false, failing: true },
  { name: 'an error in the same second as the pull (push failed after pulling)', row: { last_pull_unix: now - hour, last_error: 'push: refused', last_error_unix: now - hour }, state: 'failing', stale: false, failing: true },
  { name: 'never pulled and failing', row: { last_pull_unix: null, last_error: 'relay: no reservation', last_error_unix: now - 60 }, state: 'failing', stale: true, failing: true },
  { name: 'stale and failing: failing wins', row: { last_pull_unix: now - 100 * hour, last_error: 'x', last_error_unix: now - hour }, state: 'failing', stale: true, failing: true },
  { name: 'a custom threshold of 72 h', row: { last_pull_unix: now - 48 * hour, last_error: null, last_error_unix: null }, staleHours: 72, state: 'ok', stale: false, failing: false }
]

for (const c of cases) {
  test(`classifies: ${c.name} → ${c.state}`, (t) => {
    const got = classifyPeer(c.row, now, c.staleHours)
    t.is(got.state, c.state)
    t.is(got.stale, c.stale)
    t.is(got.failing, c.failing)
    t.is(got.reason == null, c.state === 'ok')
  })
}

test('summary line and exit code', (t) => {
  t.is(summaryLine({ peers: 0, ok: 0, stale: 0, failing: 0 }), 'sync: no peers known yet')
  t.is(summaryLine({ peers: 3, ok: 2, stale: 1, failing: 0 }), 'sync: 3 peers, 1 stale, 0 failing')
  t.is(summaryLine({ peers: 1, ok: 1, stale: 0, failing: 0 }), 'sync: 1 peer, 0 stale, 0 failing')
  t.is(exitCodeOf({ peers: 3, ok: 3, stale: 0, failing: 0 }), 0)
  t.is(exitCodeOf({ peers: 3, ok: 2, stale: 1, failing: 0 }), 1)
  t.is(exitCodeOf({ peers: 3, ok: 2, stale: 0, failing: 1 }), 1)
  t.is(exitCodeOf({ peers: 0, ok: 0, stale: 0, failing: 0 }), 0)
})

const fresh = '12D3KooWFreshPeer'
const stale = '12D3KooWStalePeer'
const failing = '12D3KooWFailingPeer'
const bookOnly = '12D3KooWBookOnlyPeer'

/** A database with a fresh, a stale and a failing peer, rows written the way the sync writes them. */
function seed (dbPath: string, nowUnix: number, withBookOnly: boolean): void {
  const db = openDatabase(dbPath)
  try {
    db.prepare('INSERT INTO peer_state (peer_id, last_cursor) VALUES (?, ?), (?, ?), (?, ?)').run(fresh, 120, stale, 40, failing, 7)
    setPushCursor(db, fresh, 33)
    upsertPeerBook(db, [
      { peer_id: fresh, addrs: ['/ip4/10.0.0.2/tcp/8845'], user_id: 'u', device_id: 'laptop', hostname: 'laptop.local', last_seen_unix: nowUnix - 60 },
      ...(withBookOnly ? [{ peer_id: bookOnly, addrs: [], user_id: 'u', device_id: 'tablet', hostname: 'tab', last_seen_unix: nowUnix - 60 }] : [])
    ])
    updateSyncStatus(db, fresh, { last_pull_unix: nowUnix - 600, last_pull_count: 12, last_push_unix: nowUnix - 590, last_push_count: 3, last_path: 'relay', last_addr: '/ip4/1.2.3.4/tcp/4001/p2p/R/p2p-circuit/p2p/' + fresh })
    updateSyncStatus(db, stale, { last_pull_unix: nowUnix - 30 * hour, last_pull_count: 5, last_path: 'direct', last_addr: '/ip4/10.0.0.3/tcp/8845' })
    updateSyncStatus(db, failing, { last_pull_unix: nowUnix - 2 * hour, last_pull_count: 1, last_path: 'direct' })
    updateSyncStatus(db, failing, { last_error: 'direct: dial refused', last_error_unix: nowUnix - hour })
  } finally {
    db.close()
  }
}

test('the report joins sync_status, cursors and the peer book per peer', (t) => {
  const dbPath = join(tempDir(t), 'history.db')
  seed(dbPath, now, true)
  const db = openDatabase(dbPath)
  try {
    const report = syncStatusReport(db, now)
    t.deepEqual(report.peers.map((p) => [p.peer_id, p.state]), [[bookOnly, 'stale'], [failing, 'failing'], [fresh, 'ok'], [stale, 'stale']])
    const f = report.peers.find((p) => p.peer_id === fresh)!
    t.like(f, { device_id: 'laptop', hostname: 'laptop.local', last_cursor: 120, last_pushed_seq: 33, last_pull_count: 12, last_push_count: 3, last_path: 'relay' })
    t.deepEqual(report.summary, { peers: 4, ok: 1, stale: 2, failing: 1 })
    t.is(syncStatusLine(db, now), 'sync: 4 peers, 2 stale, 1 failing')
  } finally {
    db.close()
  }
})

test('rr sync-status prints each peer and exits 1 when one is stale or failing', async (t) => {
  const dir = tempDir(t)
  const dbPath = join(dir, 'history.db')
  const nowUnix = Math.floor(Date.now() / 1000)
  seed(dbPath, nowUnix, false)
  const env = isolatedEnv(dir)
  const out = await rr(['--db-path', dbPath, 'sync-status'], { env })
  t.is(out.code, 1, out.stderr)
  t.regex(out.stdout, new RegExp(`^${fresh}  OK$`, 'm'))
  t.regex(out.stdout, new RegExp(`^${stale}  STALE$`, 'm'))
  t.regex(out.stdout, new RegExp(`^${failing}  FAILING$`, 'm'))
  t.regex(out.stdout, /device +laptop, host laptop\.local/)
  t.regex(out.stdout, /last pull +\S+ \S+ \(10m ago\), 12 new entries · cursor 120/)
  t.regex(out.stdout, /last push +\S+ \S+ \(\d+m ago\), 3 entries · pushed up to seq 33/)
  t.regex(out.stdout, /last error +\S+ \S+ \(60m ago\): direct: dial refused/)
  t.regex(out.stdout, /why +no successful pull for 30h \(threshold 24 h\)/)
  t.regex(out.stdout, /^sync: 3 peers, 1 stale, 1 failing/m)

  const json = await rr(['--db-path', dbPath, 'sync-status', '--json', '--stale-hours', '48'], { env })
  t.is(json.code, 1, 'still failing')
  const report = JSON.parse(json.stdout) as { stale_hours: number, summary: unknown, peers: Array<{ peer_id: string, state: string, stale: boolean, failing: boolean, last_cursor: number }> }
  t.is(report.stale_hours, 48)
  t.deepEqual(report.summary, { peers: 3, ok: 2, stale: 0, failing: 1 })
  t.like(report.peers.find((p) => p.peer_id === stale), { state: 'ok', stale: false, failing: false, last_cursor: 40 })
})

test('rr sync-status exits 0 when every peer is fresh, and 0 with a note when none is known', async (t) => {
  const dir = tempDir(t)
  const env = isolatedEnv(dir)
  const none = await rr(['--db-path', join(dir, 'missing.db'), 'sync-status'], { env })
  t.is(none.code, 0, none.stderr)
  t.regex(none.stdout, /no peers known yet/)
  // A file a writer has created and not migrated yet (or died migrating) has no peers either, not an error.
  const unmigrated = join(dir, 'unmigrated.db')
  writeFileSync(unmigrated, '', { mode: 0o600 })
  const early = await rr(['--db-path', unmigrated, 'sync-status'], { env })
  t.is(early.code, 0, early.stderr)
  t.regex(early.stdout, /no peers known yet/)
  const dbPath = join(dir, 'history.db')
  const db = openDatabase(dbPath)
  updateSyncStatus(db, fresh, { last_pull_unix: Math.floor(Date.now() / 1000) - 5, last_pull_count: 0, last_path: 'direct' })
  db.close()
  const ok = await rr(['--db-path', dbPath, 'sync-status'], { env })
  t.is(ok.code, 0, ok.stdout)
  t.regex(ok.stdout, /sync: 1 peer, 0 stale, 0 failing/)
  const doctor = await rr(['--db-path', dbPath, 'doctor'], { env })
  t.regex(doctor.stdout, /status +1 peer, 0 stale, 0 failing \(details: rr sync-status\)/)
})
