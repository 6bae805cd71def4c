/**
 * Every long-running command stops cleanly on a SIGTERM that arrives the instant it prints its address (the
 * signal is sent from inside that write, see test/helpers/signal-at-ready.ts), and the helper itself: one stop per
 * first signal, listeners gone after dispose.
 */
import { spawn } from 'node:child_process'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { pathToFileURL } from 'node:url'
import test from 'ava'
import { stopSignal } from '../../src/lifecycle/stop-signal.js'
import { isolatedEnv, repoRoot, rrBin } from '../helpers/cli.js'
import { ensureSwarmKey } from '../helpers/keys.js'
import { tempDir } from '../helpers/tmp.js'

const preload = pathToFileURL(new URL('../helpers/signal-at-ready.js', import.meta.url).pathname).href

interface Case { args: (home: string) => string[], ready: string, stopped: RegExp }

const cases: Record<string, Case> = {
  'http-serve': { args: (h) => ['--db-path', join(h, 'h.db'), 'http-serve', '--bind', '127.0.0.1:0'], ready: '^http listen: ', stopped: /^http stopped$/m },
  'tracker-serve': { args: () => ['tracker-serve', '--bind', '127.0.0.1:0'], ready: '^tracker listen: ', stopped: /^tracker stopped$/m },
  'p2p-serve': { args: (h) => ['--db-path', join(h, 'h.db'), 'p2p-serve', '--listen', '/ip4/127.0.0.1/tcp/0'], ready: '^p2p listen: ', stopped: /^p2p-serve stopped$/m },
  'relay-serve': { args: () => ['relay-serve', '--listen', '/ip4/127.0.0.1/tcp/0'], ready: '^relay listen: ', stopped: /^relay-serve stopped$/m },
  daemon: { args: (h) => ['--db-path', join(h, 'h.db'), 'daemon', '--listen', '/ip4/127.0.0.1/tcp/0'], ready: '^p2p listen: ', stopped: /^daemon: stopped$/m },
  inspect: { args: (h) => ['inspect', join(h, 'trace.jsonl'), '--port', '0'], ready: '^inspect: ', stopped: /^inspect: http/m }
}

for (const [name, c] of Object.entries(cases)) {
  test(`${name} stops cleanly on a SIGTERM sent the instant it prints its address`, async (t) => {
    const home = tempDir(t)
    ensureSwarmKey(join(home, '.config', 'rustory', 'swarm.key'))
    writeFileSync(join(home, 'trace.jsonl'), '')
    const env = isolatedEnv(home, { RR_TEST_SIGNAL_AT: c.ready, NODE_OPTIONS: `--import=${preload}` })
    const child = spawn(process.execPath, [rrBin, ...c.args(home)], { env, cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => { out += d.toString() })
    child.stderr.on('data', (d: Buffer) => { out += d.toString() })
    const timer = setTimeout(() => child.kill('SIGKILL'), 60_000)
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) => child.once('exit', (c, s) => resolve([c, s])))
    clearTimeout(timer)
    t.is(signal, null, `not killed by the signal: ${out}`)
    t.is(code, 0, out)
    t.regex(out, c.stopped)
  })
}

test('the helper stops once on the first signal, and listens no more after dispose', async (t) => {
  const before = process.listenerCount('SIGTERM')
  const seen: string[] = []
  const stop = stopSignal({ onSignal: (s) => seen.push(s) })
  t.is(process.listenerCount('SIGTERM'), before + 1)
  process.emit('SIGTERM', 'SIGTERM')
  t.is(await stop.until(() => { seen.push('closed') }), 'SIGTERM')
  t.deepEqual(seen, ['SIGTERM', 'closed'])
  t.is(process.listenerCount('SIGTERM'), before, 'until removed its listeners after closing')
  const other = stopSignal()
  other.dispose()
  other.dispose()
  t.is(process.listenerCount('SIGINT'), process.listenerCount('SIGTERM'))
  t.is(process.listenerCount('SIGTERM'), before)
})
