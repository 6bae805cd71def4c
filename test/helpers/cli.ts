/** Runs the real `bin/rr` as a child process, with an isolated HOME. */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const repoRoot = fileURLToPath(new URL('../../../', import.meta.url))
export const rrBin = fileURLToPath(new URL('../../../bin/rr', import.meta.url))

export interface RunResult {
  code: number
  stdout: string
  stderr: string
}

/** An environment with HOME (and so ~/.config/rustory, ~/.rustory) inside `home`. */
export function isolatedEnv (home: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = { ...process.env, HOME: home, ...extra }
  for (const key of Object.keys(env)) {
    if (key.startsWith('RUSTORY_') && !(key in extra)) delete env[key]
  }
  delete env.NODE_EXTRA_CA_CERTS
  return env
}

/** `bin`: another build's bin/rr (test/helpers/release.ts); @default this checkout's. */
export async function rr (args: string[], options: { env: NodeJS.ProcessEnv, input?: string, timeoutMs?: number, cwd?: string, uid?: number, gid?: number, bin?: string }): Promise<RunResult> {
  return await new Promise((resolve) => {
    const child = execFile(process.execPath, [options.bin ?? rrBin, ...args], {
      env: options.env,
      cwd: options.cwd ?? repoRoot,
      ...(options.uid != null ? { uid: options.uid } : {}),
      ...(options.gid != null ? { gid: options.gid } : {}),
      timeout: options.timeoutMs ?? 60_000,
      maxBuffer: 64 * 1024 * 1024
    }, (err, stdout, stderr) => {
      const code = err == null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1
      resolve({ code, stdout, stderr })
    })
    if (options.input != null) child.stdin?.end(options.input)
    else child.stdin?.end()
  })
}

/** Starts a long-running rr (p2p-serve, tracker-serve, …) and resolves once a stdout line matches. */
export async function rrSpawn (args: string[], options: { env: NodeJS.ProcessEnv, ready: RegExp, timeoutMs?: number, bin?: string }): Promise<{ child: ChildProcess, match: RegExpMatchArray, output: () => string }> {
  const child = spawn(process.execPath, [options.bin ?? rrBin, ...args], { env: options.env, cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stderr!.on('data', (d: Buffer) => { err += d.toString() })
  return await new Promise((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new Error(`rr ${args.join(' ')} not ready in time; stdout=${out} stderr=${err}`)) }, options.timeoutMs ?? 30_000)
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString()
      const match = out.match(options.ready)
      if (match != null) {
        clearTimeout(timer)
        resolve({ child, match, output: () => out + err })
      }
    })
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`rr ${args.join(' ')} exited ${code} before ready; stdout=${out} stderr=${err}`))
    })
  })
}

/** Stops a child and waits for it (SIGTERM, then SIGKILL after a grace period). */
export async function stop (child: ChildProcess, graceMs = 5000): Promise<number | null> {
  if (child.exitCode != null || child.signalCode != null) return child.exitCode
  return await new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    child.once('exit', (code) => { clearTimeout(timer); resolve(code) })
    child.kill('SIGTERM')
  })
}
