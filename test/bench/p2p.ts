/**
 * libp2p transfer benchmark: a real `rr p2p-serve` process on a prepared database, pulled over pnet on loopback
 * by this process (transport only, no ingest): MB/s and entries/s. Also exports startServingPeer for the full
 * sync benchmark. Standalone: `node dist/test/bench/p2p.js [entries] [cmdBytes]`.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { loadOrCreateIdentity, loadOrCreateSwarmKey } from '../../src/config/keys.js'
import { createPeerNode, dialDirect } from '../../src/p2p/index.js'
import { seedDb } from '../p2p/fixtures.js'
import { ensureSwarmKey } from '../helpers/keys.js'

const rrBin = fileURLToPath(new URL('../../../bin/rr', import.meta.url))

export interface ServingPeer {
  /** `/ip4/127.0.0.1/tcp/<port>/p2p/<peer_id>` */
  addr: string
  peerId: string
  /** The HOME the server runs with: its swarm key is `<home>/.config/rustory/swarm.key`. */
  home: string
  swarmKeyPath: string
  child: ChildProcess
  /** SIGTERM, then wait for exit; resolves with the exit code. */
  stop: () => Promise<number | null>
}

/**
 * Starts `rr --db-path <dbPath> p2p-serve --listen /ip4/127.0.0.1/tcp/0` with HOME=`home` (keys created there if
 * missing) and resolves once it prints its address.
 */
export async function startServingPeer (dbPath: string, home: string, env: NodeJS.ProcessEnv = process.env): Promise<ServingPeer> {
  ensureSwarmKey(join(home, '.config', 'rustory', 'swarm.key'))
  const childEnv: NodeJS.ProcessEnv = { ...env, HOME: home }
  for (const key of Object.keys(childEnv)) if (key.startsWith('RUSTORY_')) delete childEnv[key]
  const child = spawn(process.execPath, [rrBin, '--db-path', dbPath, 'p2p-serve', '--listen', '/ip4/127.0.0.1/tcp/0'], { env: childEnv, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stderr!.on('data', (d: Buffer) => { err += d.toString() })
  const match = await new Promise<RegExpMatchArray>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`p2p-serve not ready: ${out} ${err}`)) }, 60_000)
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const m = out.match(/p2p listen: (\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/(\w+))/)
      if (m != null) { clearTimeout(timer); resolve(m) }
    })
    child.once('exit', (code) => { clearTimeout(timer); reject(new Error(`p2p-serve exited ${code}: ${err}`)) })
  })
  const stop = async (): Promise<number | null> => {
    if (child.exitCode != null || child.signalCode != null) return child.exitCode
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)))
    child.kill('SIGTERM')
    return await exited
  }
  return { addr: match[1]!, peerId: match[2]!, home, swarmKeyPath: join(home, '.config', 'rustory', 'swarm.key'), child, stop }
}

export interface P2PBenchResult {
  entries: number
  bytes: number
  seconds: number
  mbPerSec: number
  entriesPerSec: number
  /** One full 32 MiB batch: its size and time. */
  bigBatchBytes: number
  bigBatchSeconds: number
}

export async function benchP2P (options: { entries?: number, cmdBytes?: number, limit?: number } = {}): Promise<P2PBenchResult> {
  const entries = options.entries ?? 200_000
  const dir = mkdtempSync(join(tmpdir(), 'rustory-bench-p2p-'))
  try {
    const dbPath = join(dir, 'serve.db')
    seedDb(dbPath, entries, options.cmdBytes != null ? { cmdBytes: options.cmdBytes } : {})
    const server = await startServingPeer(dbPath, join(dir, 'home'))
    const identity = await loadOrCreateIdentity(join(dir, 'client.key'))
    const node = await createPeerNode({ privateKey: identity.privateKey, psk: loadOrCreateSwarmKey(server.swarmKeyPath).psk })
    try {
      const { transport } = await dialDirect(node, server.addr)
      let cursor = 0
      let count = 0
      let bytes = 0
      const started = performance.now()
      for (;;) {
        const payload = await transport.pull({ cursor, limit: options.limit ?? 50_000 })
        bytes += payload.byteLength
        // Only the envelope's end is parsed here: the bench measures the transport, not JSON.
        const tail = Buffer.from(payload.subarray(Math.max(0, payload.byteLength - 40))).toString()
        const next = /"next_cursor":(\d+|null)\}$/.exec(tail)?.[1]
        if (next == null || next === 'null') break
        count += Number(next) - cursor
        cursor = Number(next)
      }
      const seconds = (performance.now() - started) / 1000
      const bigStart = performance.now()
      const big = await transport.pull({ cursor: 0, limit: 100_000 })
      const bigBatchSeconds = (performance.now() - bigStart) / 1000
      await transport.close()
      return { entries: count, bytes, seconds, mbPerSec: bytes / 1e6 / seconds, entriesPerSec: count / seconds, bigBatchBytes: big.byteLength, bigBatchSeconds }
    } finally {
      await node.stop()
      await server.stop()
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const entries = process.argv[2] != null ? Number(process.argv[2]) : undefined
  const cmdBytes = process.argv[3] != null ? Number(process.argv[3]) : undefined
  const r = await benchP2P({ ...(entries != null ? { entries } : {}), ...(cmdBytes != null ? { cmdBytes } : {}) })
  console.log(`p2p pull over pnet (loopback, 2 processes): ${r.entries} entries, ${(r.bytes / 1e6).toFixed(1)} MB in ${r.seconds.toFixed(2)} s = ${r.mbPerSec.toFixed(1)} MB/s, ${Math.round(r.entriesPerSec)} entries/s; one ${(r.bigBatchBytes / 1048576).toFixed(1)} MiB batch in ${r.bigBatchSeconds.toFixed(2)} s`)
}
