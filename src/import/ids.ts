/**
 * Deterministic entry ids for imported commands, so importing the same file twice inserts nothing the second
 * time: UUIDv5 (RFC 9562) over device_id, shell, the file's timestamp, the command, and its position.
 *
 * "Position" is the occurrence number of the same (timestamp, command) pair, not the line number, so the ids stay
 * put when the shell trims the head of its history file or appends to it:
 *  - timed commands count repeats within a run of equal timestamps (the same command twice in one second);
 *  - untimed commands (plain bash/zsh) count repeats of the command across the file; importing a trimmed-and-grown
 *    file again inserts only uses beyond the counts already imported.
 */
import { hash } from 'node:crypto'

/** The namespace of rustory's import ids (a fixed random UUID). */
export const importNamespace = '6f1d3c2a-8b4e-4f7a-9c1d-2e5b7a9f0c31'

const namespaceBytes = Buffer.from(importNamespace.replace(/-/g, ''), 'hex')

let scratch = Buffer.allocUnsafe(4096)

/** UUIDv5 of a name in a namespace (RFC 9562 §5.5). */
export function uuidV5 (name: string, namespace: Uint8Array = namespaceBytes): string {
  // One-shot crypto.hash (Node ≥ 20.12) costs a third of createHash per call; this runs once per imported line,
  // so the namespace and name are laid out in a reused scratch buffer rather than concatenated.
  const need = namespace.length + Buffer.byteLength(name, 'utf8')
  if (scratch.length < need) scratch = Buffer.allocUnsafe(Math.max(need, scratch.length * 2))
  scratch.set(namespace, 0)
  const end = namespace.length + scratch.write(name, namespace.length, 'utf8')
  const digest = hash('sha1', scratch.subarray(0, end), 'buffer')
  digest[6] = (digest[6]! & 0x0f) | 0x50
  digest[8] = (digest[8]! & 0x3f) | 0x80
  const hex = digest.toString('hex', 0, 16)
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20, 32)}`
}

/** Long commands are counted by a digest, so the untimed counter's memory stays small. */
const maxKeyChars = 200

function keyOf (cmd: string): string {
  return cmd.length <= maxKeyChars ? cmd : hash('sha1', cmd, 'base64')
}

/** Hands out ids in file order. */
export class ImportIds {
  readonly #prefix: string
  #runTs: number | undefined
  readonly #run = new Map<string, number>()
  readonly #untimed = new Map<string, number>()

  constructor (deviceId: string, shell: string) {
    this.#prefix = `${deviceId}\u0000${shell}\u0000`
  }

  next (cmd: string, epochSec: number | undefined): string {
    let ordinal: number
    const key = keyOf(cmd)
    if (epochSec == null) {
      ordinal = this.#untimed.get(key) ?? 0
      this.#untimed.set(key, ordinal + 1)
    } else {
      if (epochSec !== this.#runTs) { this.#run.clear(); this.#runTs = epochSec }
      ordinal = this.#run.get(key) ?? 0
      this.#run.set(key, ordinal + 1)
    }
    return uuidV5(`${this.#prefix}${epochSec ?? ''}\u0000${ordinal}\u0000${cmd}`)
  }
}
