/**
 * Network namespaces for tests that need real network separation (relay-only paths, NAT): `ip netns` made inside
 * the test and deleted on teardown, even when the test fails. Every veth pair is created directly between two of the
 * test's own namespaces (never in the host's), no namespace gets a default route, and iptables rules live inside the
 * namespaces, so deleting them removes everything. Needs root, iproute2 and iptables; without them `netLab` throws
 * with the reason, so the test fails instead of passing without having run.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import type { ExecutionContext } from 'ava'
import { repoRoot, rrBin } from './cli.js'

export interface CommandResult {
  code: number
  stdout: string
  stderr: string
}

async function run (cmd: string, args: string[], timeoutMs = 20_000): Promise<CommandResult> {
  return await new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err == null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 127
      resolve({ code, stdout, stderr: stderr + (err != null && typeof (err as { code?: unknown }).code !== 'number' ? String(err.message) : '') })
    })
  })
}

/** Runs a command and throws with its output when it fails. */
async function must (cmd: string, args: string[]): Promise<string> {
  const result = await run(cmd, args)
  if (result.code !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${result.code}): ${result.stderr.trim() || result.stdout.trim()}`)
  return result.stdout
}

let counter = 0

export interface Spawned {
  child: ChildProcess
  /** stdout and stderr so far. */
  output: () => string
  /** Resolves with the first match of `re` in the output (waits up to timeoutMs, then throws with the output). */
  waitFor: (re: RegExp, timeoutMs?: number) => Promise<RegExpMatchArray>
  /** Resolves with the exit code (waits up to timeoutMs, then kills it and throws). */
  exited: (timeoutMs?: number) => Promise<number | null>
}

export class NetLab {
  readonly #prefix: string
  readonly #namespaces: string[] = []
  readonly #children: ChildProcess[] = []
  #links = 0

  constructor (_t: ExecutionContext) {
    this.#prefix = `rrt${process.pid % 100_000}x${counter++}`
  }

  /** A new empty namespace with loopback up; returns its name. */
  async addNamespace (role: string): Promise<string> {
    const name = `${this.#prefix}-${role}`
    await must('ip', ['netns', 'add', name])
    this.#namespaces.push(name)
    await must('ip', ['-n', name, 'link', 'set', 'lo', 'up'])
    return name
  }

  /**
   * A veth pair between two of the lab's namespaces, with an address (CIDR) on each end; returns the two
   * interface names.
   */
  async link (a: string, addrA: string, b: string, addrB: string): Promise<[string, string]> {
    const n = this.#links++
    const ifA = `veth${n}a`
    const ifB = `veth${n}b`
    await must('ip', ['-n', a, 'link', 'add', ifA, 'type', 'veth', 'peer', 'name', ifB, 'netns', b])
    await must('ip', ['-n', a, 'addr', 'add', addrA, 'dev', ifA])
    await must('ip', ['-n', b, 'addr', 'add', addrB, 'dev', ifB])
    await must('ip', ['-n', a, 'link', 'set', ifA, 'up'])
    await must('ip', ['-n', b, 'link', 'set', ifB, 'up'])
    return [ifA, ifB]
  }

  /** A route in `ns` to `dest` (CIDR) through `via`. Never a default route. */
  async route (ns: string, dest: string, via: string): Promise<void> {
    if (dest === 'default' || dest.endsWith('/0')) throw new Error('the lab never adds default routes')
    await must('ip', ['-n', ns, 'route', 'add', dest, 'via', via])
  }

  /** Lets `ns` forward packets between its interfaces (a router). */
  async forwarding (ns: string): Promise<void> {
    await must('ip', ['netns', 'exec', ns, 'sysctl', '-q', '-w', 'net.ipv4.ip_forward=1'])
  }

  /** Source NAT (iptables MASQUERADE) for everything leaving `ns` through `outIface`: a home router. */
  async masquerade (ns: string, outIface: string): Promise<void> {
    await must('ip', ['netns', 'exec', ns, 'iptables', '-t', 'nat', '-A', 'POSTROUTING', '-o', outIface, '-j', 'MASQUERADE'])
  }

  /** Runs a command inside `ns`. */
  async exec (ns: string, cmd: string[]): Promise<CommandResult> {
    return await run('ip', ['netns', 'exec', ns, ...cmd])
  }

  /** Starts `rr <args>` inside `ns` (stopped on teardown). */
  rr (ns: string, args: string[], env: NodeJS.ProcessEnv): Spawned {
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, rrBin, ...args], { env, cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] })
    this.#children.push(child)
    let out = ''
    const waiters = new Set<() => void>()
    const onData = (d: Buffer): void => {
      out += d.toString()
      for (const w of waiters) w()
    }
    child.stdout!.on('data', onData)
    child.stderr!.on('data', onData)
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => { for (const w of waiters) w(); resolve(code) }))
    return {
      child,
      output: () => out,
      waitFor: async (re, timeoutMs = 30_000) => await new Promise((resolve, reject) => {
        const check = (): void => {
          const match = out.match(re)
          if (match != null) {
            done()
            resolve(match)
          } else if (child.exitCode != null || child.signalCode != null) {
            done()
            reject(new Error(`rr ${args.join(' ')} in ${ns} exited (${child.exitCode ?? child.signalCode}) before printing ${re}; output:\n${out}`))
          }
        }
        const timer = setTimeout(() => { done(); reject(new Error(`rr ${args.join(' ')} in ${ns}: no ${re} within ${timeoutMs} ms; output:\n${out}`)) }, timeoutMs)
        const done = (): void => { clearTimeout(timer); waiters.delete(check) }
        waiters.add(check)
        check()
      }),
      exited: async (timeoutMs = 60_000) => await Promise.race([
        exit,
        new Promise<never>((_resolve, reject) => {
          const timer = setTimeout(() => {
            child.kill('SIGKILL')
            reject(new Error(`rr ${args.join(' ')} in ${ns} did not finish within ${timeoutMs} ms; output:\n${out}`))
          }, timeoutMs)
          void exit.then(() => clearTimeout(timer))
        })
      ])
    }
  }

  /** Stops every process the lab started, then deletes every namespace (and with them veths and iptables rules). */
  async teardown (): Promise<string[]> {
    const problems: string[] = []
    await Promise.all(this.#children.map(async (child) => await stopChild(child)))
    for (const ns of this.#namespaces.splice(0)) {
      // Anything still running in the namespace was started by this test.
      const pids = await run('ip', ['netns', 'pids', ns])
      for (const pid of pids.stdout.split(/\s+/).filter((p) => /^\d+$/.test(p))) {
        try { process.kill(Number(pid), 'SIGKILL') } catch {}
      }
      const del = await run('ip', ['netns', 'del', ns])
      if (del.code !== 0) problems.push(`ip netns del ${ns}: ${del.stderr.trim()}`)
    }
    return problems
  }

  /** Names of the lab's namespaces that still exist (for a teardown check). */
  async existing (): Promise<string[]> {
    const list = await run('ip', ['netns', 'list'])
    return list.stdout.split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith(`${this.#prefix}-`))
  }

  get prefix (): string {
    return this.#prefix
  }
}

async function stopChild (child: ChildProcess, graceMs = 5000): Promise<void> {
  if (child.exitCode != null || child.signalCode != null) return
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
    child.once('exit', () => { clearTimeout(timer); resolve() })
    child.kill('SIGTERM')
  })
}

/**
 * A lab torn down when the test ends (pass or fail). Throws — failing the test — when this machine cannot make
 * namespaces or NAT rules (not root, no iproute2, no iptables), saying which.
 */
export async function netLab (t: ExecutionContext, options: { nat?: boolean } = {}): Promise<NetLab> {
  if (typeof process.getuid === 'function' && process.getuid() !== 0) {
    throw new Error(`network namespace tests need root (running as uid ${process.getuid()})`)
  }
  const ip = await run('ip', ['-V'])
  if (ip.code !== 0) throw new Error(`network namespace tests need iproute2's \`ip\`: ${ip.stderr.trim() || `exit ${ip.code}`}`)
  if (options.nat === true) {
    const ipt = await run('iptables', ['-V'])
    if (ipt.code !== 0) throw new Error(`the NAT test needs iptables: ${ipt.stderr.trim() || `exit ${ipt.code}`}`)
  }
  const lab = new NetLab(t)
  t.teardown(async () => {
    const problems = await lab.teardown()
    if (problems.length > 0) throw new Error(`netns teardown: ${problems.join('; ')}`)
  })
  // Probe: can we make a namespace at all (root inside a container may still lack CAP_SYS_ADMIN)?
  await lab.addNamespace('probe').catch((err: Error) => { throw new Error(`cannot create network namespaces here: ${err.message}`) })
  if (options.nat === true) {
    const probe = await lab.exec(`${lab.prefix}-probe`, ['iptables', '-t', 'nat', '-S'])
    if (probe.code !== 0) throw new Error(`iptables does not work inside a network namespace here: ${probe.stderr.trim()}`)
  }
  return lab
}
