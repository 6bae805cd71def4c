/**
 * `rr invite` and `rr join`: pairing a new device in one line. Invite reads (or, on the very first device, creates)
 * the swarm key and puts it with the trackers, their token, the relay and a configured user_id into one code.
 * Join checks the whole code first, then writes swarm.key (0600) and the matching config.toml keys; a different
 * swarm key already in place is kept unless `force` (then it is moved aside to `<path>.old`).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import { parse as parseToml, stringify as stringifyToml } from 'smol-toml'
import { decodeInvite, encodeInvite, type Invite } from './invite.js'
import { formatSwarmKey, loadOrCreateSwarmKey, parseSwarmKey, swarmKeyBytes, swarmKeyFingerprint, KeyFileError } from './keys.js'
import { readConfigFile, type Settings } from './settings.js'
import { RustoryError } from '../core/errors.js'

const fileMode = 0o600
const dirMode = 0o700

export interface InviteResult {
  /** The line to run on the other device: `rr join <code>`. */
  line: string
  /** Notes for stderr (a new key was created, what the code carries). */
  notes: string[]
}

export function createInvite (settings: Settings): InviteResult {
  const swarm = loadOrCreateSwarmKey(settings.swarmKeyPath)
  const notes: string[] = []
  if (swarm.created) notes.push(`created a new swarm key ${swarm.path} (fingerprint ${swarm.fingerprint}): this device starts a new network`)
  else notes.push(`swarm key ${swarm.path} (fingerprint ${swarm.fingerprint})`)
  const invite: Invite = {
    swarmKey: swarmKeyBytes(swarm),
    trackers: settings.trackers,
    ...(settings.userIdConfigured ? { userId: settings.userId } : {}),
    ...(settings.trackerToken != null ? { trackerToken: settings.trackerToken } : {}),
    ...(settings.relayAddr != null ? { relayAddr: settings.relayAddr } : {})
  }
  if (settings.trackers.length === 0) notes.push('no trackers configured (trackers in config.toml or --trackers): the devices will not find each other until one is set on each')
  notes.push('the code carries the swarm key' + (settings.trackerToken != null ? ' and the tracker token' : '') + ': give it only to your own devices')
  return { line: `rr join ${encodeInvite(invite)}`, notes }
}

/** Writes a file through a temporary one and a rename, with mode 0600: never half-written. */
function writeAtomic (path: string, content: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: dirMode })
  const tmp = `${path}.tmp-${process.pid}`
  writeFileSync(tmp, content, { mode: fileMode })
  chmodSync(tmp, fileMode)
  renameSync(tmp, path)
}

export interface JoinOptions {
  /** Replace a different swarm key already in place. @default false */
  force?: boolean
}

/** A join that would replace this device's network without --force. */
export class SwarmKeyConflictError extends RustoryError {
  static override readonly name = 'SwarmKeyConflictError'
  override readonly name = 'SwarmKeyConflictError'
  override readonly exitCode = 1
}

/** Joins the network of an invite code; returns the lines to print. Throws before writing anything when the code or the files are wrong. */
export function joinNetwork (settings: Settings, code: string, options: JoinOptions = {}): string[] {
  const invite = decodeInvite(code)
  const fingerprint = swarmKeyFingerprint(invite.swarmKey)
  const keyPath = settings.swarmKeyPath
  let existing: Uint8Array | undefined
  if (existsSync(keyPath)) {
    try {
      existing = parseSwarmKey(readFileSync(keyPath, 'utf8'), keyPath)
    } catch (err) {
      if (!(err instanceof KeyFileError) || options.force !== true) throw err
    }
  }
  const sameKey = existing != null && Buffer.from(existing).equals(Buffer.from(invite.swarmKey))
  if (existing != null && !sameKey && options.force !== true) {
    throw new SwarmKeyConflictError(`${keyPath} holds another swarm key (fingerprint ${swarmKeyFingerprint(existing)}) than the invite (fingerprint ${fingerprint}); this device is in another network. Compare with \`rr swarm-key\` on the inviting device; to leave the current network and join this one, run the join again with --force`)
  }
  // Check the config before writing anything (a malformed one is a ConfigError naming the line).
  readConfigFile(settings.configPath)
  const text = existsSync(settings.configPath) ? readFileSync(settings.configPath, 'utf8') : ''
  const table = text === '' ? {} : parseToml(text) as Record<string, unknown>
  const changed: string[] = []
  const set = (key: string, value: unknown): void => {
    if (JSON.stringify(table[key]) !== JSON.stringify(value)) changed.push(key)
    table[key] = value
  }
  if (invite.trackers.length > 0) set('trackers', invite.trackers)
  if (invite.trackerToken != null) set('tracker_token', invite.trackerToken)
  if (invite.relayAddr != null) set('relay_addr', invite.relayAddr)
  if (invite.userId != null) set('user_id', invite.userId)

  const lines: string[] = []
  if (sameKey) {
    lines.push(`swarm key ${keyPath} already in place (fingerprint ${fingerprint})`)
  } else {
    if (existing != null || existsSync(keyPath)) {
      renameSync(keyPath, `${keyPath}.old`)
      lines.push(`moved the previous swarm key to ${keyPath}.old`)
    }
    writeAtomic(keyPath, formatSwarmKey(invite.swarmKey))
    lines.push(`wrote swarm key ${keyPath} (fingerprint ${fingerprint}; compare with \`rr swarm-key\` on the inviting device)`)
  }
  if (changed.length > 0) {
    writeAtomic(settings.configPath, stringifyToml(table) + '\n')
    lines.push(`wrote ${changed.join(', ')} to ${settings.configPath}`)
  }
  lines.push('joined: start syncing with `rr daemon` (or keep it running with `rr service install`)')
  return lines
}
