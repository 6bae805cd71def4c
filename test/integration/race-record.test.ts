/**
 * Many shells record into one database while a bulk import and a `rr p2p-sync` write to it too (both drain the
 * record spool when they open it): every record must land exactly once after a drain, none may fail (record.log
 * stays empty). How long each record took is logged.
 */
import test from 'ava'
import { spawn } from 'node:child_process'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import { drainSpoolFor, openDatabase } from '../../src/store/db.js'
import { Device, freePorts, prng, writeSwarmKey } from '../helpers/cluster.js'
import { repoRoot } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'

const second = 1000

/**
 * A bulk importer: inserts `batches` × `size` entries in separate write transactions, through the store's
 * insertEntries (what an import does), and prints how many landed.
 */
async function bulkImport (dbPath: string, batches: number, size: number): Promise<{ code: number | null, out: string }> {
  const entriesUrl = pathToFileURL(join(repoRoot, 'dist/src/store/entries.js')).href
  const dbUrl = pathToFileURL(join(repoRoot, 'dist/src/store/db.js')).href
  const script = `
    const { openDatabase } = await import(${JSON.stringify(dbUrl)})
    const { insertEntries } = await import(${JSON.stringify(entriesUrl)})
    const { randomUUID } = await import('node:crypto')
    const db = openDatabase(${JSON.stringify(dbPath)})
    let inserted = 0
    for (let b = 0; b < ${batches}; b++) {
      const entries = Array.from({ length: ${size} }, (_, i) => ({
        entry_id: randomUUID(), device_id: 'imported', user_id: 'race', ts: new Date(Date.UTC(2025, 0, 1) + b * 100000 + i).toISOString(),
        cmd: 'imported ' + b + '/' + i, cwd: '/', exit_code: 0, duration_ms: 1, shell: 'zsh', hostname: 'old', version: '0'
      }))
      inserted += insertEntries(db, entries).inserted
      await new Promise((r) => setTimeout(r, 5))
    }
    db.close()
    process.stdout.write(String(inserted))
  `
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  child.stdout.on('data', (d: Buffer) => { out += d.toString() })
  child.stderr.on('data', (d: Buffer) => { out += d.toString() })
  await new Promise((resolve) => child.once('close', resolve))
  return { code: child.exitCode, out }
}

test('records from many concurrent shells all land while an import and a sync write to the same database', async (t) => {
  const root = tempDir(t, 'rustory-race-')
  const swarmKeyPath = join(root, 'swarm.key')
  writeSwarmKey(swarmKeyPath)
  const [portS, portT] = await freePorts(2)
  const source = new Device(0, root, portS!, swarmKeyPath)
  const target = new Device(1, root, portT!, swarmKeyPath)
  t.teardown(async () => { await source.stopAll(); await target.stopAll() })
  source.seed(3000, prng(11))
  target.seed(10, prng(12))
  await source.startServe(90_000)

  const shells = 8
  const recordsPerShell = 5
  const durations: number[] = []
  const recordersDone = Promise.all(Array.from({ length: shells }, async (_, shell) => {
    for (let i = 0; i < recordsPerShell; i++) {
      const started = Date.now()
      const id = await target.record(`race shell ${shell} command ${i}`)
      durations.push(Date.now() - started)
      if (id == null) t.log(`shell ${shell} record ${i} printed no id`)
    }
  }))
  const [sync, imported] = await Promise.all([
    target.syncOnce([source.addr!], ['--limit', '50']),
    bulkImport(target.dbPath, 20, 500),
    recordersDone
  ])

  t.is(sync.code, 0, `sync output:\n${sync.output}`)
  t.is(imported.code, 0, imported.out)
  t.is(imported.out, '10000')
  t.is(target.recordFailures, 0, target.recordErrors.join('\n'))
  t.is(target.recordLog(), '', 'record.log stays empty: no record failed')
  const slowest = Math.max(...durations)
  // A figure, not an assertion: on a starved machine a node start alone can take seconds, and that recording never
  // opens the database (so never waits for its lock) is asserted in spool.test.ts.
  t.log(`records: ${durations.length}, slowest ${slowest} ms, median ${durations.sort((a, b) => a - b)[Math.floor(durations.length / 2)]!} ms`)

  // What the next rr command on this device does first: move the spool into the database.
  const drained = drainSpoolFor(target.dbPath, { busyTimeoutMs: 20 * second })
  t.is(drained.pending, 0)
  t.is(drained.rejected, 0)
  const db = openDatabase(target.dbPath, { readonly: true })
  try {
    const ids = new Set(db.prepare('SELECT entry_id FROM entries').pluck().all() as string[])
    const total = db.prepare('SELECT COUNT(*) FROM entries').pluck().get() as number
    t.is(total, ids.size, 'no duplicates')
    t.is(total, 3000 + 10 + 10_000 + shells * recordsPerShell, 'pulled + own + imported + recorded')
    for (const id of target.recorded) t.true(ids.has(id), `recorded ${id} is in the database`)
    for (const id of source.recorded) if (!ids.has(id)) t.fail(`pulled ${id} missing`)
    t.is(db.pragma('integrity_check', { simple: true }), 'ok')
  } finally {
    db.close()
  }
})
