/**
 * A full disk during a large pull: the database lives on a small tmpfs that fills up mid-sync. The sync must fail
 * with a clear "disk is full" message, leave a sound database whose cursor matches its rows, and once space is
 * freed the next sync must complete with nothing lost and nothing duplicated.
 */
import test from 'ava'
import { execFileSync } from 'node:child_process'
import { mkdirSync } from 'node:fs'
import { join } from 'node:path'
import { openDatabase } from '../../src/store/db.js'
import { Device, freePorts, prng, writeSwarmKey } from '../helpers/cluster.js'
import { tempDir } from '../helpers/tmp.js'

const MiB = 1024 * 1024

function mount (dir: string, sizeBytes: number): void {
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeBytes}`, 'tmpfs', dir], { stdio: 'pipe' })
}

function remount (dir: string, sizeBytes: number): void {
  execFileSync('mount', ['-o', `remount,size=${sizeBytes}`, dir], { stdio: 'pipe' })
}

function unmount (dir: string): void {
  try {
    execFileSync('umount', [dir], { stdio: 'pipe' })
  } catch {
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' })
  }
}

interface Snapshot {
  ids: string[]
  total: number
  distinct: number
  integrity: string
  cursor: number | undefined
}

function snapshot (dbPath: string, peerId: string): Snapshot {
  const db = openDatabase(dbPath, { readonly: true })
  try {
    return {
      ids: db.prepare('SELECT entry_id FROM entries ORDER BY ingest_seq').pluck().all() as string[],
      total: db.prepare('SELECT COUNT(*) FROM entries').pluck().get() as number,
      distinct: db.prepare('SELECT COUNT(DISTINCT entry_id) FROM entries').pluck().get() as number,
      integrity: db.pragma('integrity_check', { simple: true }) as string,
      cursor: db.prepare('SELECT last_cursor FROM peer_state WHERE peer_id = ?').pluck().get(peerId) as number | undefined
    }
  } finally {
    db.close()
  }
}

/** The source's entry_ids in ingest order, with their seq. */
function sourceRows (dbPath: string): Array<{ ingest_seq: number, entry_id: string }> {
  const db = openDatabase(dbPath, { readonly: true })
  try {
    return db.prepare('SELECT ingest_seq, entry_id FROM entries ORDER BY ingest_seq').all() as Array<{ ingest_seq: number, entry_id: string }>
  } finally {
    db.close()
  }
}

test('a pull that fills the disk fails with a clear message, keeps the database consistent, and resumes without loss once space is freed', async (t) => {
  const root = tempDir(t, 'rustory-diskfull-')
  const mountPoint = join(root, 'small-disk')
  mkdirSync(mountPoint)
  try {
    mount(mountPoint, 2 * MiB)
  } catch (err) {
    t.fail(`cannot mount a tmpfs (the test needs root and mount(8)): ${(err as Error).message}`)
    return
  }
  t.teardown(() => unmount(mountPoint))

  const swarmKeyPath = join(root, 'swarm.key')
  writeSwarmKey(swarmKeyPath)
  const [portA, portB] = await freePorts(2)
  // A: ~6 MiB of history on a normal disk. B: its database on the 2 MiB tmpfs.
  const a = new Device(0, root, portA!, swarmKeyPath)
  const b = new Device(1, root, portB!, swarmKeyPath, {}, join(mountPoint, 'history.db'))
  a.seed(12_000, prng(7), 800)
  t.teardown(async () => { await a.stopAll(); await b.stopAll() })
  await a.startServe(90_000)
  const source = sourceRows(a.dbPath)

  const full = await b.syncOnce([a.addr!], ['--limit', '500'])
  t.not(full.code, 0, `the sync should fail on a full disk; output:\n${full.output}`)
  t.regex(full.output, /database or disk is full|no space left/i, 'the user sees that the disk is full')

  const partial = snapshot(b.dbPath, a.peerId!)
  t.is(partial.integrity, 'ok')
  t.is(partial.total, partial.distinct, 'no duplicated entry_id')
  t.true(partial.total > 0 && partial.total < source.length, `the disk filled mid-pull (${partial.total} of ${source.length} stored)`)
  // The cursor matches the rows: everything up to it is present, nothing after it was kept.
  const cursor = partial.cursor ?? 0
  const upToCursor = source.filter((r) => r.ingest_seq <= cursor).map((r) => r.entry_id)
  t.deepEqual([...partial.ids].sort(), [...upToCursor].sort(), `rows match the stored cursor ${cursor}`)

  // Free space: the tmpfs grows (remount), as a user would free space on the disk.
  remount(mountPoint, 64 * MiB)

  const resumed = await b.syncOnce([a.addr!], ['--limit', '500'])
  t.is(resumed.code, 0, `the next sync completes; output:\n${resumed.output}`)
  const after = snapshot(b.dbPath, a.peerId!)
  t.is(after.integrity, 'ok')
  t.is(after.total, source.length, 'nothing lost')
  t.is(after.distinct, after.total, 'nothing duplicated')
  t.deepEqual(new Set(after.ids), new Set(source.map((r) => r.entry_id)))
  t.is(after.cursor, source[source.length - 1]!.ingest_seq)
})
