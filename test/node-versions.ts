/**
 * The second half of `npm test`: after the full suite ran on the default Node, the fast subset runs on every other
 * Node named in RUSTORY_TEST_NODES (space-separated paths to `node` binaries; .ci/run installs 22 and 24 from the npm
 * registry and builds better-sqlite3 for each, with tools/node-for.sh). The fast subset is every test outside test/integration,
 * test/package and test/fuzz, plus the two-process pnet sync of test/integration/p2p-sync.test.ts.
 */
import { spawnSync } from 'node:child_process'
import { copyFileSync, existsSync, readFileSync, renameSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'

const second = 1000
const root = fileURLToPath(new URL('../../', import.meta.url))
const ava = join(root, 'node_modules', 'ava', 'entrypoints', 'cli.mjs')
const sqliteRoot = join(root, 'node_modules', 'better-sqlite3')
const sqliteAddon = join(sqliteRoot, 'build', 'Release', 'better_sqlite3.node')
const sqliteVersion = (JSON.parse(readFileSync(join(sqliteRoot, 'package.json'), 'utf8')) as { version: string }).version

/**
 * Runs `fn` with better-sqlite3's addon swapped for the one tools/node-for.sh built for `node` (beside its bin/),
 * and puts npm's own back afterwards, whatever happens.
 */
function withAddonFor<T> (node: string, fn: () => T): T {
  const built = join(dirname(dirname(node)), `better_sqlite3-${sqliteVersion}.node`)
  if (!existsSync(built)) throw new Error(`${built} is missing: run tools/node-for.sh <version> first`)
  const saved = `${sqliteAddon}.default`
  renameSync(sqliteAddon, saved)
  const restore = (): void => { if (existsSync(saved)) renameSync(saved, sqliteAddon) }
  process.once('SIGINT', restore)
  try {
    copyFileSync(built, sqliteAddon)
    return fn()
  } finally {
    restore()
    process.removeListener('SIGINT', restore)
  }
}

export const fastSubset = [
  'dist/test/**/*.test.js',
  '!dist/test/integration/**',
  '!dist/test/package/**',
  '!dist/test/fuzz/**',
  'dist/test/integration/p2p-sync.test.js'
]

const nodes = (process.env.RUSTORY_TEST_NODES ?? '').split(/\s+/).filter((n) => n !== '')
if (nodes.length === 0) {
  console.log(`node-versions: RUSTORY_TEST_NODES is not set, so only Node ${process.versions.node} ran (.ci/run sets it to Node 22 and 24)`)
  process.exit(0)
}
const summary: string[] = [`Node ${process.versions.node}: full suite (above)`]
let failed = false
for (const node of nodes) {
  const version = spawnSync(node, ['-p', 'process.versions.node'], { encoding: 'utf8' }).stdout.trim()
  console.log(`node-versions: fast subset on Node ${version} (${node})`)
  const started = Date.now()
  const run = withAddonFor(node, () => spawnSync(node, [ava, ...fastSubset], {
    cwd: root,
    stdio: 'inherit',
    // bin/rr starts with `#!/usr/bin/env node`: this Node first on PATH, for anything that runs `rr` by name.
    env: { ...process.env, PATH: `${dirname(node)}:${process.env.PATH ?? ''}` }
  }))
  const took = `${Math.round((Date.now() - started) / second)} s`
  summary.push(`Node ${version}: fast subset ${run.status === 0 ? 'passed' : 'FAILED'} in ${took}`)
  if (run.status !== 0) failed = true
}
console.log(`node-versions:\n  ${summary.join('\n  ')}`)
process.exit(failed ? 1 : 0)
