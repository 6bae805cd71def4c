/** Shared fixtures for the tracker tests: plausible PeerIds, register bodies, a tracker per test. */
import type { ExecutionContext } from 'ava'
import { startTrackerServer, type TrackerServer, type TrackerServerComponents, type TrackerServerInit } from '../../src/tracker/index.js'
import type { RegisterRequest } from '../../src/tracker/index.js'

const alphabet = '123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz'

/** A string shaped like an Ed25519 PeerId (12D3KooW + 44 base58 characters), distinct per seed. */
export function fakePeerId (seed: number): string {
  let tail = ''
  let n = seed + 1
  for (let i = 0; i < 44; i++) {
    tail += alphabet[(n * 7 + i * 13) % alphabet.length]
    n = Math.floor(n / 3) + seed + i
  }
  return `12D3KooW${tail}`
}

export function registerBody (seed: number, userId = 'alice', addrs = [`/ip4/10.0.0.${seed % 250}/tcp/8845`]): RegisterRequest {
  return { peer_id: fakePeerId(seed), addrs, meta: { device_id: `dev-${seed}`, hostname: `host-${seed}`, user_id: userId, version: '0.1.0' } }
}

/**
 * Starts an in-process tracker on 127.0.0.1:0, closed on teardown. The fake PeerIds above cannot sign, so these
 * trackers accept unsigned registrations unless the test says otherwise (signing is tested in signature.test.ts).
 */
export async function withTracker (t: ExecutionContext, init: Partial<TrackerServerInit> = {}, components: TrackerServerComponents = {}): Promise<TrackerServer> {
  const server = await startTrackerServer({ bind: { host: '127.0.0.1', port: 0 }, allowUnsigned: true, ...init }, components)
  t.teardown(async () => await server.close())
  return server
}

export async function postJson (url: string, body: unknown, headers: Record<string, string> = {}): Promise<{ status: number, json: any }> {
  const res = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: typeof body === 'string' ? body : JSON.stringify(body) })
  return { status: res.status, json: await res.json().catch(() => undefined) }
}

export async function getJson (url: string, headers: Record<string, string> = {}): Promise<{ status: number, json: any }> {
  const res = await fetch(url, { headers })
  return { status: res.status, json: await res.json().catch(() => undefined) }
}
