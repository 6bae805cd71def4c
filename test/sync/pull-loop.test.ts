/**
 * The pull loop as a thin driver over src/sync/transfer.ts: real SQLite files and a real worker pool on both
 * sides, served by the serve core (src/sync/serve.ts); only the network between them is a function call, so the
 * order of requests and stores can be read exactly.
 */
import test, { type ExecutionContext } from 'ava'
import { join } from 'node:path'
import { createPeerDependencies } from '../../actors/peer-actors.js'
import type { PeerSyncEvent } from '../../machines/peer-sync.machine.js'
import type { Link } from '../../src/sync/types.js'
import { MessageTooLargeError } from '../../src/protocol/errors.js'
import type { SyncPull } from '../../src/protocol/messages.js'
import { openDatabase } from '../../src/store/db.js'
import { servePull } from '../../src/sync/serve.js'
import { WorkerPool } from '../../workers/pool.js'
import { seedEntries } from '../helpers/peers.js'
import { tempDir } from '../helpers/tmp.js'

interface Run {
  /** 'pull <cursor>/<limit>' per request, 'stored <cursor>' per pull.progress, then 'done' or 'failed: <message>'. */
  log: string[]
  rows: number
}

async function pullFrom (t: ExecutionContext, options: { seeded: number, limit: number, maxEntries?: number, refuseOver?: number }): Promise<Run> {
  const dir = tempDir(t)
  const source = join(dir, 'source.db')
  const target = join(dir, 'target.db')
  seedEntries(source, options.seeded, 'dev-source')
  const db = openDatabase(target)
  const pool = new WorkerPool()
  t.teardown(async () => { db.close(); await pool.close() })
  const log: string[] = []
  const transport = {
    peerId: 'peer-source',
    remoteAddr: 'memory',
    path: 'direct' as const,
    pull: async (request: SyncPull) => {
      log.push(`pull ${request.cursor}/${request.limit}`)
      if (options.refuseOver != null && request.limit > options.refuseOver) throw new MessageTooLargeError('SyncBatch', 1)
      const answer = await servePull({ dbPath: source, pool }, request, 1)
      if (answer.kind !== 'batch') throw new Error(answer.kind)
      return answer.payload
    },
    push: async () => { throw new Error('not pushing') },
    close: async () => {}
  }
  const link: Link = { transport, path: 'direct', addr: 'memory', connectionId: 'c1' }
  const deps = createPeerDependencies({
    dbPath: target,
    db,
    pool,
    connector: { dialDirect: async () => link, dialRelay: async () => link, watchUpgrade: () => () => {} },
    deviceId: 'dev-target',
    log: { info: () => {}, summary: () => {} },
    ...(options.maxEntries != null ? { roundLimits: { maxEntries: options.maxEntries, maxBytes: 1 << 30 } } : {})
  })
  await new Promise<void>((resolve) => {
    deps.pullLoop({ target: { key: 'peer-source', peerId: 'peer-source', addrs: [], source: 'peers' }, link, limit: options.limit }, (event: PeerSyncEvent) => {
      if (event.type === 'pull.progress') log.push(`stored ${event.cursor}`)
      if (event.type === 'pull.done') { log.push('done'); resolve() }
      if (event.type === 'pull.failed') { log.push(`failed: ${event.error.message}`); resolve() }
    }, () => {})
  })
  const rows = (db.prepare('SELECT count(*) AS n FROM entries').get() as { n: number }).n
  return { log, rows }
}

const pulls = (log: string[]): string[] => log.filter((line) => line.startsWith('pull '))

test('the next batch is requested from the parsed next_cursor while the current one is stored', async (t) => {
  const { log, rows } = await pullFrom(t, { seeded: 5000, limit: 1000 })
  // Every page is asked for once, in order; the last (empty) answer ends the pull.
  t.deepEqual(pulls(log), ['pull 0/1000', 'pull 1000/1000', 'pull 2000/1000', 'pull 3000/1000', 'pull 4000/1000', 'pull 5000/1000'])
  t.is(log.at(-1), 'done')
  t.is(rows, 5000)
  // A request made before the page before it was reported stored came from the worker's parsed next_cursor.
  // (Whether a tiny store outruns the worker's message is up to the scheduler; over five pages one at least wins.)
  let stored = 0
  const early = log.filter((line) => {
    if (line.startsWith('stored ')) stored = Number(line.slice(7))
    return line.startsWith('pull ') && Number(line.slice(5).split('/')[0]) > stored
  })
  t.true(early.length >= 1, log.join('\n'))
})

test('no request is made past the round\'s entry limit, and the round ends there', async (t) => {
  const { log, rows } = await pullFrom(t, { seeded: 30, limit: 10, maxEntries: 20 })
  t.deepEqual(pulls(log), ['pull 0/10', 'pull 10/10'])
  t.deepEqual(log.slice(-2), ['stored 20', 'done'])
  t.is(rows, 20)
})

test('a batch too large is asked for again with half the limit, from the same cursor', async (t) => {
  const { log, rows } = await pullFrom(t, { seeded: 8, limit: 16, refuseOver: 4 })
  t.deepEqual(pulls(log).slice(0, 4), ['pull 0/16', 'pull 0/8', 'pull 0/4', 'pull 4/4'])
  t.is(log.at(-1), 'done')
  t.is(rows, 8)
})

test('a single entry too large fails the pull for good, naming the cursor', async (t) => {
  const { log, rows } = await pullFrom(t, { seeded: 3, limit: 2, refuseOver: 0 })
  t.deepEqual(log.slice(0, 2), ['pull 0/2', 'pull 0/1'])
  t.regex(log.at(-1)!, /^failed: pull from peer-source: a single entry after cursor 0 does not fit/)
  t.is(rows, 0)
})
