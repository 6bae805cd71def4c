/**
 * Signing bench (issue 17): the cost of signed entries on a sync of 200k entries over libp2p on loopback.
 * Servers' databases hold the same rows: unsigned (as before 2.0.0: nothing to verify); signed by a third device
 * (relayed: the receiver verifies every signature); signed by the serving device itself (first-hand: its
 * connection's Noise handshake authenticates that key, so signatures are not checked again); and recorded on the
 * serving device, not yet signed (it signs them on the first pull, once). Each is pulled by `rr p2p-sync` into an empty database; the figure is entries/s from
 * the command's own `--stats wall_ms`. Rounds alternate unsigned/signed so load on the machine hits both alike.
 * Run: `BENCH_ONLY=signing npm run bench` (BENCH_SIGNING_ENTRIES, BENCH_SIGNING_ROUNDS to change it).
 */
import { spawn } from 'node:child_process'
import { copyFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import Database from 'better-sqlite3'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { entrySignerOf, loadOrCreateIdentity } from '../../src/config/keys.js'
import type { EntrySigner } from '../../src/core/signature.js'
import { openDatabase } from '../../src/store/db.js'
import { signPending } from '../../src/store/entries.js'
import { ensureSwarmKey } from '../helpers/keys.js'
import { env, seed, waitForLine } from './sync.js'

const rrBin = fileURLToPath(new URL('../../../bin/rr', import.meta.url))

async function pull (dir: string, name: string, dbA: string, swarm: string, limit: number, homeA = join(dir, `${name}-serve`)): Promise<{ count: number, verified: number, ms: number }> {
  const homeB = join(dir, `${name}-sync`)
  mkdirSync(homeA, { recursive: true })
  mkdirSync(homeB, { recursive: true })
  const dbB = join(homeB, 'b.db')
  rmSync(dbB, { force: true })
  const serve = spawn(process.execPath, [rrBin, '--db-path', dbA, 'p2p-serve', '--listen', '/ip4/127.0.0.1/tcp/0'], { env: env(homeA, swarm), stdio: ['ignore', 'pipe', 'inherit'] })
  try {
    const addr = await waitForLine(serve, /p2p listen: (\S+)/)
    const sync = spawn(process.execPath, [rrBin, '--db-path', dbB, 'p2p-sync', '--peers', addr, '--limit', String(limit), '--stats'], { env: env(homeB, swarm), stdio: ['ignore', 'pipe', 'pipe'] })
    let err = ''
    sync.stderr!.on('data', (d: Buffer) => { err += d.toString() })
    const code = await new Promise<number | null>((resolve) => sync.once('exit', resolve))
    if (code !== 0) throw new Error(`p2p-sync exited ${code}: ${err}`)
    const wall = /wall_ms=(\d+)/.exec(err)
    const db = new Database(dbB, { readonly: true })
    const { count, verified } = db.prepare('SELECT COUNT(*) AS count, COALESCE(SUM(trust = 1), 0) AS verified FROM entries').get() as { count: number, verified: number }
    db.close()
    rmSync(homeB, { recursive: true, force: true })
    return { count, verified, ms: Number(wall?.[1] ?? NaN) }
  } finally {
    serve.kill('SIGTERM')
    await new Promise((resolve) => serve.once('exit', resolve))
  }
}

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!

export async function benchSigning (entries = Number(process.env.BENCH_SIGNING_ENTRIES ?? 200_000), rounds = Number(process.env.BENCH_SIGNING_ROUNDS ?? 3), limit = 20_000): Promise<Record<string, string | number>> {
  const dir = mkdtempSync(join(tmpdir(), 'rustory-bench-signing-'))
  try {
    const swarm = join(dir, 'swarm.key')
    ensureSwarmKey(swarm)
    const unsigned = join(dir, 'unsigned.db')
    const relayed = join(dir, 'relayed.db')
    const firstHand = join(dir, 'first-hand.db')
    const pending = join(dir, 'pending.db')
    seed(unsigned, entries)
    for (const copy of [relayed, firstHand, pending]) copyFileSync(unsigned, copy)
    const signWith = (path: string, signer: EntrySigner): number => {
      const db = openDatabase(path)
      try {
        db.exec('UPDATE entries SET trust = 2')
        const started = performance.now()
        signPending(db, signer)
        return performance.now() - started
      } finally {
        db.close()
      }
    }
    const key = await generateKeyPair('Ed25519')
    const signMs = signWith(relayed, { origin: peerIdFromPrivateKey(key).toString(), secretKey: key.raw })
    // The first-hand server's own identity key, where `rr p2p-serve` will load it from.
    const homeFirstHand = join(dir, 'first-hand-serve')
    const identity = await loadOrCreateIdentity(join(homeFirstHand, '.config', 'rustory', 'identity.key'))
    signWith(firstHand, entrySignerOf(identity))
    const p = openDatabase(pending)
    p.exec('UPDATE entries SET trust = 2')
    p.close()

    const rates: Record<'unsigned' | 'relayed' | 'firstHand', number[]> = { unsigned: [], relayed: [], firstHand: [] }
    let verified = 0
    for (let r = 0; r < rounds; r++) {
      const u = await pull(dir, `u${r}`, unsigned, swarm, limit)
      const s = await pull(dir, `s${r}`, relayed, swarm, limit)
      const f = await pull(dir, `f${r}`, firstHand, swarm, limit, homeFirstHand)
      for (const x of [u, s, f]) if (x.count !== entries) throw new Error(`pulled ${x.count} of ${entries}`)
      verified = Math.min(s.verified, f.verified)
      rates.unsigned.push(entries / (u.ms / 1000))
      rates.relayed.push(entries / (s.ms / 1000))
      rates.firstHand.push(entries / (f.ms / 1000))
    }
    const firstServe = await pull(dir, 'p', pending, swarm, limit)
    const plain = median(rates.unsigned)
    const slower = (rate: number): string => `${((1 - rate / plain) * 100).toFixed(1)}%`
    return {
      'signing entries': entries,
      'sign rate (signPending, in process) entries/s': Math.round(entries / (signMs / 1000)),
      'sync unsigned entries/s (median of rounds)': Math.round(plain),
      'sync signed first-hand (the serving device\'s own entries) entries/s (median)': Math.round(median(rates.firstHand)),
      'sync signed relayed (every signature verified) entries/s (median)': Math.round(median(rates.relayed)),
      'rounds entries/s unsigned | first-hand | relayed': `${rates.unsigned.map(Math.round).join(' ')} | ${rates.firstHand.map(Math.round).join(' ')} | ${rates.relayed.map(Math.round).join(' ')}`,
      'verified rows on the receiver (each signed run)': verified,
      'first-hand vs unsigned: slower by (target < 10%)': slower(median(rates.firstHand)),
      'relayed vs unsigned: slower by': slower(median(rates.relayed)),
      'sync, server signs its own entries on the first pull, entries/s': Math.round(entries / (firstServe.ms / 1000))
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const figures = await benchSigning()
  for (const [k, v] of Object.entries(figures)) console.log(`${k}: ${v}`)
}
