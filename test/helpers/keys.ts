/** Swarm keys for tests: rr's nodes never create one (only `rr invite` does), so tests write it first. */
import { randomBytes } from 'node:crypto'
import { mkdirSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'

/** Writes a new random swarm key at `path` unless one is there already (0600, standard pnet format). */
export function ensureSwarmKey (path: string): void {
  mkdirSync(dirname(path), { recursive: true })
  try {
    writeFileSync(path, `/key/swarm/psk/1.0.0/\n/base16/\n${randomBytes(32).toString('hex')}\n`, { mode: 0o600, flag: 'wx' })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err
  }
}
