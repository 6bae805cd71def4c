/** Entries for store tests. */
import { randomUUID } from 'node:crypto'
import type { Entry } from '../../src/core/entry.js'

let clock = Date.parse('2026-01-01T00:00:00.000Z')

export function entry (overrides: Partial<Entry> = {}): Entry {
  clock += 1
  return {
    entry_id: randomUUID(),
    device_id: 'dev-a',
    user_id: 'user',
    ts: new Date(clock).toISOString(),
    cmd: 'echo hello',
    cwd: '/home/user',
    exit_code: 0,
    duration_ms: 12,
    shell: 'zsh',
    hostname: 'host-a',
    version: '0.1.0',
    ...overrides
  }
}
