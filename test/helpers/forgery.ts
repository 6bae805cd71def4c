/**
 * The scene of the forgery tests (test/integration/forged-history.test.ts, forged-chunks.test.ts): devices A and C
 * as real `rr p2p-serve` processes sharing a swarm key, A with six recorded commands, and an in-process attacker
 * node holding that swarm key and an Ed25519 key of its own.
 */
import { join } from 'node:path'
import type { ExecutionContext } from 'ava'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { Entry } from '../../src/core/entry.js'
import type { EntrySigner } from '../../src/core/signature.js'
import { startPeer, type InProcessPeer } from '../p2p/fixtures.js'
import { device, type Device } from './peers.js'
import { tempDir } from './tmp.js'

/** A fresh Ed25519 key as an entry signer: the attacker's own. */
export async function attackerKey (): Promise<EntrySigner> {
  const key = await generateKeyPair('Ed25519')
  return { origin: peerIdFromPrivateKey(key).toString(), secretKey: key.raw }
}

/** The entry's content fields only: its origin and sig dropped. */
export function unsignedCopy (e: Entry): Entry {
  const { origin: _o, sig: _s, ...rest } = e
  return rest
}

export interface ForgeryScene {
  /** The test's directory, and the swarm key the devices and the attacker share. */
  dir: string
  swarm: string
  a: Device
  c: Device
  servedA: { addr: string }
  servedC: { addr: string }
  /** A's PeerId. */
  aId: string
  attacker: InProcessPeer
  /** The attacker's own key. */
  x: EntrySigner
}

export async function forgeryScene (t: ExecutionContext): Promise<ForgeryScene> {
  const dir = tempDir(t)
  const swarm = join(dir, 'swarm.key')
  const a = device(t, dir, 'devA', swarm)
  const c = device(t, dir, 'devC', swarm)
  await a.record(6, 'make deploy')
  const servedA = await a.serve()
  const servedC = await c.serve()
  const aId = servedA.addr.split('/p2p/')[1]!
  const attacker = await startPeer(t, { dir, swarmKeyPath: swarm, name: 'mallory' })
  return { dir, swarm, a, c, servedA, servedC, aId, attacker, x: await attackerKey() }
}
