import { readdirSync, readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import test from 'ava'
import { isolatedEnv, repoRoot, rr } from '../helpers/cli.js'
import { readRows } from '../helpers/db.js'
import { tempDir } from '../helpers/tmp.js'

// What bin/rr loads for `rr record`: the CommonJS bundle npm run build makes of src/cli/record-main.ts.
const bundlePath = join(repoRoot, 'dist', 'src', 'record.cjs')
const bundle = createRequire(import.meta.url)(bundlePath) as { recordCommand: (argv: string[]) => Promise<number> | undefined }

test('the record bundle holds the record path only: no SQLite, libp2p, oclif or worker pool', (t) => {
  const text = readFileSync(bundlePath, 'utf8')
  for (const heavy of ['better-sqlite3', 'libp2p', '@oclif/core', 'piscina']) t.false(text.includes(`require("${heavy}")`), heavy)
  // The one way into SQLite (the inline drain at 256 files) stays a dynamic import of the ES module beside it.
  t.regex(text, /import\("\.\/store\/db\.js"\)/)
})

test('recordCommand records with global flags before or after the subcommand, and declines help and other commands', async (t) => {
  const dir = tempDir(t)
  const dbPath = join(dir, 'history.db')
  t.is(bundle.recordCommand(['record', '--help']), undefined)
  t.is(bundle.recordCommand(['history']), undefined)
  t.is(await bundle.recordCommand(['--db-path', dbPath, 'record', '--cmd', 'make one', '--cwd', '/tmp']), 0)
  t.is(await bundle.recordCommand(['record', '--cmd', 'make two', '--cwd', '/tmp', '--db-path', dbPath]), 0)
  t.is(readdirSync(`${dbPath}-spool`).filter((n) => n.endsWith('.json')).length, 2)
  t.deepEqual(readRows(dbPath).map((e) => e.cmd).sort(), ['make one', 'make two'])
})

test('bin/rr record through the bundle: --print-id prints the id of the stored entry; --help still gets oclif\'s help', async (t) => {
  const home = tempDir(t)
  const env = isolatedEnv(home)
  const recorded = await rr(['record', '--cmd', 'echo bundled', '--cwd', '/', '--print-id'], { env })
  t.is(recorded.code, 0, recorded.stderr)
  const id = recorded.stdout.trim()
  t.regex(id, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/)
  t.deepEqual(readRows(join(home, '.rustory', 'history.db')).map((e) => [e.entry_id, e.cmd]), [[id, 'echo bundled']])
  const help = await rr(['record', '--help'], { env })
  t.is(help.code, 0)
  t.regex(help.stdout, /--print-id/)
})
