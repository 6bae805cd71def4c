import { join } from 'node:path'
import test from 'ava'
import { entryFields, validateEntry, type Entry } from '../../src/core/entry.js'
import { insertEntries } from '../../src/store/entries.js'
import { openDatabase } from '../../src/store/db.js'
import { exportBatch } from '../../workers/export-batch.js'
import { validateEntry as validateEntryV1 } from '../fixtures/entry-v1.js'
import { device } from '../helpers/peers.js'
import { tempDir } from '../helpers/tmp.js'
import { isolatedEnv, rr } from '../helpers/cli.js'

function entry (i: number, session?: string): Entry {
  return {
    entry_id: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`,
    device_id: 'a',
    user_id: 'u',
    ts: new Date(Date.UTC(2026, 0, 1, 0, 0, i)).toISOString(),
    cmd: `cmd ${i}`,
    cwd: '/tmp',
    exit_code: 0,
    duration_ms: 1,
    shell: 'zsh',
    hostname: 'h',
    version: '0.1.0',
    ...(session != null ? { session_id: session } : {})
  }
}

test('session_id is kept when set, absent when null or missing, and refused when not a short string', (t) => {
  t.is(validateEntry(entry(1, 'zsh-1')).session_id, 'zsh-1')
  t.false('session_id' in validateEntry(entry(1)))
  t.false('session_id' in validateEntry({ ...entry(1), session_id: null }))
  t.throws(() => validateEntry({ ...entry(1), session_id: 42 }), { message: /session_id must be a string/ })
  t.throws(() => validateEntry({ ...entry(1), session_id: '' }), { message: /session_id must not be empty/ })
  t.throws(() => validateEntry({ ...entry(1), session_id: 'x'.repeat(300) }), { message: /session_id is longer than 256/ })
})

test('the 1.0.0 wire carries session_id only when set, and a peer on the 1.0.0 code accepts every entry of it', (t) => {
  const dir = tempDir(t)
  const dbPath = join(dir, 'a.db')
  const db = openDatabase(dbPath)
  insertEntries(db, [entry(1, 'bash-7-1'), entry(2)])
  db.close()
  const batch = JSON.parse(exportBatch({ tag: 'export-batch', dbPath, cursor: 0, limit: 10, maxBytes: 1 << 20 }).payload.toString()) as { entries: Array<Record<string, unknown>> }
  t.is(batch.entries[0]!.session_id, 'bash-7-1')
  t.false('session_id' in batch.entries[1]!, 'an entry without a session has no session_id key (not null)')
  // Today's release validates what we send: nothing rejected, its own fields only.
  const v1 = batch.entries.map((e) => validateEntryV1(e))
  t.deepEqual(v1.map((e) => Object.keys(e)), [[...entryFields], [...entryFields]])
  // And we take what today's release sends (no session_id).
  t.deepEqual(v1.map((e) => validateEntry(e)), [entry(1), entry(2)])
})

test('a recorded session_id syncs to a peer over p2p', async (t) => {
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  const a = device(t, dir, 'devA', swarm, { RUSTORY_SHELL_SESSION: 'zsh-4242-1' })
  const b = device(t, dir, 'devB', swarm)
  await a.record(2)
  const { addr } = await a.serve()
  const sync = await b.rr(['p2p-sync', '--peers', addr])
  t.is(sync.code, 0, sync.stderr)
  t.deepEqual(b.query<{ s: string }>('SELECT DISTINCT session_id AS s FROM entries').map((r) => r.s), ['zsh-4242-1'])
  const history = await b.rr(['history', '--format', 'jsonl'])
  t.regex(history.stdout, /"session_id":"zsh-4242-1"/)
})

test('rr history --session and rr search --session list only this shell\'s commands', async (t) => {
  const dir = tempDir(t)
  const env = isolatedEnv(dir)
  for (const [cmd, session] of [['echo mine', 'bash-1-2-3'], ['echo theirs', 'zsh-9-9-9'], ['echo old']] as const) {
    const r = await rr(['record', '--cmd', cmd, ...(session != null ? ['--session-id', session] : [])], { env })
    t.is(r.code, 0, r.stderr)
  }
  const mine = { ...env, RUSTORY_SHELL_SESSION: 'bash-1-2-3' }
  t.is((await rr(['history', '--session', '--format', 'jsonl'], { env: mine })).stdout.trim().split('\n').map((l) => (JSON.parse(l) as Entry).cmd).join(','), 'echo mine')
  t.is((await rr(['search', '--session', '--filter', 'echo'], { env: mine })).stdout, 'echo mine\n')
  t.is((await rr(['search', '--filter', 'echo'], { env: mine })).stdout, 'echo old\necho theirs\necho mine\n')
  const outside = await rr(['history', '--session'], { env })
  t.not(outside.code, 0)
  t.regex(outside.stderr, /RUSTORY_SHELL_SESSION/)
})
