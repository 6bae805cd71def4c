import { readFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { join } from 'node:path'
import test from 'ava'
import { repoRoot } from '../helpers/cli.js'

// What bin/rr loads for `rr search` (ctrl+r): the CommonJS bundle npm run build makes of src/cli/search-main.ts.
const bundlePath = join(repoRoot, 'dist', 'src', 'search.cjs')
const bundle = createRequire(import.meta.url)(bundlePath) as { searchCommand: (argv: string[]) => Promise<number> | undefined }

test('the search bundle holds the ctrl+r path only: no libp2p, oclif, worker pool, libsodium or migrations', (t) => {
  const text = readFileSync(bundlePath, 'utf8')
  for (const heavy of ['libp2p', '@oclif/core', 'piscina', 'sodium-native']) t.false(text.includes(heavy), heavy)
  for (const ddl of ['CREATE TABLE entries', 'CREATE TABLE IF NOT EXISTS tombstones']) t.false(text.includes(ddl), 'the schema (migrations) is not in it')
  // The database's write side (spool drain, a failed open's wording) is required at run time, beside the bundle.
  t.regex(text, /require\d*\("\.\.\/store\/db\.js"\)/)
})

test('searchCommand declines help and other commands (bin/rr then goes through oclif)', (t) => {
  t.is(bundle.searchCommand(['search', '--help']), undefined)
  t.is(bundle.searchCommand(['history', 'search']), undefined)
})
