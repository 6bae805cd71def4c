/**
 * Fixtures for libp2p tests: seeded databases, and in-process peers on 127.0.0.1 with teardown.
 * Also used by the benchmark (startServingPeer) and by the sync engine's tests.
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { join } from 'node:path'
import type { ExecutionContext } from 'ava'
import type { Entry } from '../../src/core/entry.js'
import { loadOrCreateIdentity, loadOrCreateSwarmKey } from '../../src/config/keys.js'
import { createPeerNode, serveSync, type PeerNode, type PeerNodeInit, type ServeSyncInit } from '../../src/p2p/index.js'
import { openDatabase } from '../../src/store/db.js'
import { insertEntries } from '../../src/store/entries.js'
import { WorkerPool } from '../../workers/pool.js'

/** A valid entry; `i` makes its ts distinct. */
export function makeEntry (i: number, overrides: Partial<Entry> = {}): Entry {
  return {
    entry_id: randomUUID(),
    device_id: 'device-a',
    user_id: 'user',
    ts: new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(),
    cmd: `echo ${i}`,
    cwd: '/home/user',
    exit_code: 0,
    duration_ms: i % 1000,
    shell: 'zsh',
    hostname: 'host-a',
    version: '0.1.0',
    ...overrides
  }
}

/** Writes `count` entries (each cmd about `cmdBytes` long) to a new database file; returns their ids in order. */
export function seedDb (path: string, count: number, options: { cmdBytes?: number, deviceId?: string } = {}): string[] {
  const db = openDatabase(path)
  const ids: string[] = []
  try {
    const filler = options.cmdBytes != null ? randomBytes(Math.ceil(options.cmdBytes / 2)).toString('hex').slice(0, options.cmdBytes) : undefined
    const batch: Entry[] = []
    const flush = (): void => {
      insertEntries(db, batch)
      batch.length = 0
    }
    for (let i = 0; i < count; i++) {
      const entry = makeEntry(i, { ...(filler != null ? { cmd: `${i} ${filler}` } : {}), ...(options.deviceId != null ? { device_id: options.deviceId } : {}) })
      ids.push(entry.entry_id)
      batch.push(entry)
      if (batch.length === 10_000) flush()
    }
    flush()
  } finally {
    db.close()
  }
  return ids
}

export interface InProcessPeer {
  node: PeerNode
  pool: WorkerPool
  /** `/ip4/127.0.0.1/tcp/<port>/p2p/<id>` */
  addr: string
  peerId: string
  logs: string[]
  stop: () => Promise<void>
}

/**
 * Starts an in-process peer on 127.0.0.1 (random port). With `dbPath` it serves sync from it. Keys live in `dir`
 * (swarm.key shared by every peer given the same `swarmKeyPath`).
 */
export async function startPeer (t: ExecutionContext | undefined, init: { dir: string, swarmKeyPath: string, dbPath?: string, name?: string, listen?: string[], dialTimeoutMs?: number, connectionProtector?: PeerNodeInit['connectionProtector'], dialFromListenPort?: 'punch' | 'always', serve?: Partial<Omit<ServeSyncInit, 'dbPath' | 'pool'>> }): Promise<InProcessPeer> {
  const swarm = loadOrCreateSwarmKey(init.swarmKeyPath)
  const identity = await loadOrCreateIdentity(join(init.dir, `${init.name ?? 'peer'}.key`))
  // Tests run on a busy machine: a generous dial timeout unless a test measures it (a wrong swarm key).
  const node = await createPeerNode({ privateKey: identity.privateKey, psk: swarm.psk, listen: init.listen ?? (init.dbPath != null ? ['/ip4/127.0.0.1/tcp/0'] : []), dialTimeoutMs: init.dialTimeoutMs ?? 15_000, ...(init.connectionProtector != null ? { connectionProtector: init.connectionProtector } : {}), ...(init.dialFromListenPort != null ? { dialFromListenPort: init.dialFromListenPort } : {}) })
  const pool = new WorkerPool({ maxThreads: 2 })
  const logs: string[] = []
  const unserve = init.dbPath != null ? await serveSync(node, { log: (line) => logs.push(line), ...init.serve, dbPath: init.dbPath, pool }) : undefined
  let stopped: Promise<void> | undefined
  const stop = async (): Promise<void> => {
    stopped ??= (async () => {
      await unserve?.()
      await node.stop()
      await pool.close()
    })()
    await stopped
  }
  t?.teardown(stop)
  const addr = node.getMultiaddrs().map(String).find((a) => a.includes('/ip4/127.0.0.1/tcp/')) ?? ''
  return { node, pool, addr, peerId: identity.peerId, logs, stop }
}
