/**
 * rustory 0.1.0, the release devices may still run (commit cf546e7, before signed entries), built from its sources
 * for the tests that sync with it: test/fixtures/release-0.1.0.tar.gz is
 * `git archive --format=tar.gz cf546e7 src actors machines workers bin hooks package.json package-lock.json tsconfig.json`
 * (kept in the repository, so a shallow clone can run them too). It is built once per test process, with its own
 * build script, against this checkout's node_modules: the release's lockfile pins the same versions of every
 * library that touches the wire or the database, which releaseBin checks before building.
 */
import { execFile } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { repoRoot } from './cli.js'

const tarball = fileURLToPath(new URL('../../../test/fixtures/release-0.1.0.tar.gz', import.meta.url))

/** What the release and this checkout must have in the same version for the build to be the release's. */
const pinned = ['libp2p', '@chainsafe/libp2p-noise', '@chainsafe/libp2p-yamux', '@libp2p/tcp', '@libp2p/pnet', '@libp2p/crypto',
  'better-sqlite3', 'sodium-native', 'xstate', 'piscina', '@oclif/core']

const run = promisify(execFile)
let built: Promise<string> | undefined

/** The release's bin/rr (run it with process.execPath). Rejects, naming what failed, when it cannot be built. */
export async function releaseBin (): Promise<string> {
  built ??= build()
  return await built
}

async function build (): Promise<string> {
  const dir = mkdtempSync(join(tmpdir(), 'rustory-release-0.1.0-'))
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }))
  await run('tar', ['-xzf', tarball, '-C', dir])
  const lock = JSON.parse(readFileSync(join(dir, 'package-lock.json'), 'utf8')) as { packages: Record<string, { version?: string }> }
  for (const name of pinned) {
    const want = lock.packages[`node_modules/${name}`]?.version
    const have = (JSON.parse(readFileSync(join(repoRoot, 'node_modules', name, 'package.json'), 'utf8')) as { version: string }).version
    if (want !== have) throw new Error(`rustory 0.1.0 locks ${name} ${want ?? '(none)'}, this checkout has ${have}: the release cannot be built from this node_modules`)
  }
  symlinkSync(join(repoRoot, 'node_modules'), join(dir, 'node_modules'))
  try {
    await run('npm', ['run', 'build'], { cwd: dir, env: { ...process.env, npm_config_update_notifier: 'false' }, maxBuffer: 16 * 1024 * 1024 })
  } catch (err) {
    const { stdout = '', stderr = '' } = err as { stdout?: string, stderr?: string }
    throw new Error(`building rustory 0.1.0 failed (npm run build in ${dir}): ${stdout.slice(-2000)}${stderr.slice(-2000)}`)
  }
  return join(dir, 'bin', 'rr')
}
