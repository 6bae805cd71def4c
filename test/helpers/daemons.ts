/** `rr daemon` as a child process for integration tests, its stdout and stderr appended to one log file. */
import { spawn, type ChildProcess } from 'node:child_process'
import { appendFileSync, readFileSync } from 'node:fs'
import type { ExecutionContext } from 'ava'
import { repoRoot, rrBin, stop } from './cli.js'

export interface DaemonDevice {
  env: NodeJS.ProcessEnv
  port: number
  /** Where the daemon's output goes (appended across restarts). */
  log: string
  daemon?: ChildProcess
}

/** Starts a daemon listening on 127.0.0.1:port; stopped at teardown. */
export function startDaemon (t: ExecutionContext, dev: DaemonDevice, intervalSec: number): ChildProcess {
  const child = spawn(process.execPath, [rrBin, 'daemon', '--listen', `/ip4/127.0.0.1/tcp/${dev.port}`, '--interval-sec', String(intervalSec)], { env: dev.env, cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] })
  const tap = (d: Buffer): void => { appendFileSync(dev.log, d) }
  child.stdout!.on('data', tap)
  child.stderr!.on('data', tap)
  dev.daemon = child
  t.teardown(async () => { await stop(child) })
  return child
}

export function daemonLog (dev: DaemonDevice): string {
  try {
    return readFileSync(dev.log, 'utf8')
  } catch {
    return ''
  }
}
