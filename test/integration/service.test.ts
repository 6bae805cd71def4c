/** `rr service install|status|uninstall` as a real process in a HOME of its own (no systemd runs here). */
import { existsSync, readFileSync, realpathSync } from 'node:fs'
import { join } from 'node:path'
import test from 'ava'
import { isolatedEnv, rr, rrBin } from '../helpers/cli.js'
import { tempDir } from '../helpers/tmp.js'

test('install --dry-run prints the unit and writes nothing; install writes exactly that; status and uninstall follow', async (t) => {
  const home = tempDir(t)
  const env = isolatedEnv(home)
  const unitPath = join(home, '.config', 'systemd', 'user', 'rustory.service')
  const dry = await rr(['--db-path', join(home, 'h.db'), 'service', 'install', '--dry-run'], { env })
  t.is(dry.code, 0, dry.stderr)
  t.false(existsSync(unitPath))
  t.true(dry.stdout.startsWith(`# ${unitPath}\n`))
  t.true(dry.stdout.includes(`ExecStart=${process.execPath} ${realpathSync(rrBin)} --db-path ${join(home, 'h.db')} daemon\n`), dry.stdout)
  t.regex(dry.stdout, /^Restart=on-failure$/m)

  const installed = await rr(['--db-path', join(home, 'h.db'), 'service', 'install'], { env })
  t.is(installed.code, 0, installed.stderr)
  t.is(readFileSync(unitPath, 'utf8'), dry.stdout.slice(dry.stdout.indexOf('\n') + 1))
  if (!existsSync('/run/systemd/system')) t.regex(installed.stdout, /systemd is not running here.*\n.*systemctl --user daemon-reload && systemctl --user enable --now rustory/)

  const status = await rr(['--db-path', join(home, 'h.db'), 'service', 'status'], { env })
  t.is(status.code, 1, 'installed but no daemon runs')
  t.regex(status.stdout, /^service: installed \(systemd\)/m)
  t.regex(status.stdout, /^daemon: not running/m)

  const removed = await rr(['service', 'uninstall'], { env })
  t.is(removed.code, 0, removed.stderr)
  t.false(existsSync(unitPath))
  t.regex((await rr(['service', 'status'], { env })).stdout, /^service: not installed/m)
})
