/**
 * rustory as users get it: the npm tarball installed globally, and the single-file binary. Slow (an npm install from
 * the registry, a 50 MB sync twice, the binary built once): it runs in the full suite only, never per Node version
 * (test/node-versions.ts leaves test/package out).
 *
 * - The tarball holds what rr runs and nothing else, with npm-shrinkwrap.json pinning the whole tree.
 * - `npm install -g --prefix <tmp> <tgz>` installs from the registry; better-sqlite3's prebuilt addon comes from a
 *   mirror on 127.0.0.1 that serves the one npm built here (this machine cannot reach GitHub, its usual host).
 * - Two devices on the installed rr sync 50 MB over pnet, and the installed rr syncs 50 MB with the binary; neither
 *   prints a warning.
 * - The binary alone in an empty directory, with an empty PATH (no node anywhere): record, search --filter, and a
 *   two-device pnet sync.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { copyFileSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import test, { type ExecutionContext } from 'ava'
import { isolatedEnv, repoRoot, stop } from '../helpers/cli.js'
import { ensureSwarmKey } from '../helpers/keys.js'
import { seedEntries } from '../helpers/peers.js'

const minute = 60_000
const binary = join(repoRoot, 'dist', 'rr-linux-x64')
const work = mkdtempSync(join(tmpdir(), 'rustory-package-'))
test.after.always(() => rmSync(work, { recursive: true, force: true }))

interface Result { code: number, stdout: string, stderr: string }

async function exec (file: string, args: string[], options: { env?: NodeJS.ProcessEnv, cwd?: string, timeoutMs?: number } = {}): Promise<Result> {
  return await new Promise((resolve) => {
    execFile(file, args, { env: options.env ?? process.env, cwd: options.cwd ?? work, timeout: options.timeoutMs ?? 2 * minute, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err == null ? 0 : typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1
      resolve({ code, stdout, stderr })
    }).stdin?.end()
  })
}

/** One way to run rr: the installed one (this Node + its bin/rr) or the binary. */
type Program = string[]

/** A device: its own HOME and database, the shared swarm key, run with `program`. */
function device (name: string, program: Program, swarmKey: string, cwd = work) {
  const home = join(work, `${name}-${Math.random().toString(16).slice(2)}`)
  mkdirSync(home, { recursive: true })
  const dbPath = join(home, 'history.db')
  const env = { ...isolatedEnv(home, { RUSTORY_SWARM_KEY_PATH: swarmKey, RUSTORY_DEVICE_ID: name }) }
  delete env.XDG_CACHE_HOME
  const children: ChildProcess[] = []
  const run = async (args: string[], timeoutMs = 3 * minute): Promise<Result> => await exec(program[0]!, [...program.slice(1), '--db-path', dbPath, ...args], { env, cwd, timeoutMs })
  const serve = async (): Promise<{ addr: string, stderr: () => string }> => {
    const child = spawn(program[0]!, [...program.slice(1), '--db-path', dbPath, 'p2p-serve', '--listen', '/ip4/127.0.0.1/tcp/0'], { env, cwd, stdio: ['ignore', 'pipe', 'pipe'] })
    children.push(child)
    let out = ''
    let err = ''
    child.stderr!.on('data', (d: Buffer) => { err += d.toString() })
    const addr = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`p2p-serve not ready: ${out} ${err}`)), 2 * minute)
      child.stdout!.on('data', (d: Buffer) => {
        out += d.toString()
        const m = out.match(/p2p listen: (\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\/\w+)/)
        if (m != null) { clearTimeout(timer); resolve(m[1]!) }
      })
      child.on('exit', (code) => { clearTimeout(timer); reject(new Error(`p2p-serve exited ${code}: ${out} ${err}`)) })
    })
    return { addr, stderr: () => err }
  }
  const close = async (): Promise<void> => { await Promise.all(children.map(async (c) => await stop(c))) }
  return { name, home, dbPath, env, run, serve, close }
}

/** What an rr prints that a user would call a warning. */
const warning = /warn|deprecat|experimental|MaxListeners/i

/** 25,000 entries of about 2 KB each: 50 MB of history to pull. */
const bigEntries = 25_000
const bigCmdBytes = 2_000

async function bigSync (t: ExecutionContext, server: Program, client: Program, label: string): Promise<void> {
  // rr's nodes never create a swarm key (only `rr invite` does): the network's key comes first.
  const swarmKey = join(work, `swarm-${label}.key`)
  ensureSwarmKey(swarmKey)
  const a = device(`${label}-a`, server, swarmKey)
  const b = device(`${label}-b`, client, swarmKey)
  try {
    seedEntries(a.dbPath, bigEntries, 'devA', { cmdBytes: bigCmdBytes })
    t.true(statSync(a.dbPath).size > 50e6, `seeded ${statSync(a.dbPath).size} bytes`)
    const served = await a.serve()
    const synced = await b.run(['p2p-sync', '--peers', served.addr])
    t.is(synced.code, 0, synced.stderr)
    t.regex(synced.stdout, new RegExp(`pulled=${bigEntries} inserted=${bigEntries}`))
    t.notRegex(synced.stderr, warning)
    t.notRegex(served.stderr(), warning)
    const counted = await b.run(['stats'])
    t.is(counted.code, 0, counted.stderr)
  } finally {
    await Promise.all([a.close(), b.close()])
  }
}

/** Packs the project the way `npm pack` does, from a copy (the build is not re-run under the running suite). */
async function pack (): Promise<{ tgz: string, files: string[] }> {
  const stage = join(work, 'stage')
  mkdirSync(stage)
  for (const name of ['package.json', 'package-lock.json', 'README.md', 'bin', 'dist', 'hooks', 'oclif.manifest.json']) {
    cpSync(join(repoRoot, name), join(stage, name), { recursive: true, filter: (s) => !s.endsWith('rr-linux-x64') && !s.includes(`${join('dist', 'sea')}`) })
  }
  const prepack = await exec('npm', ['run', 'prepack'], { cwd: stage })
  if (prepack.code !== 0) throw new Error(prepack.stderr)
  const packed = await exec('npm', ['pack', '--ignore-scripts', '--json', '--pack-destination', work], { cwd: stage })
  if (packed.code !== 0) throw new Error(packed.stderr)
  const [info] = JSON.parse(packed.stdout) as Array<{ filename: string, files: Array<{ path: string }> }>
  return { tgz: join(work, info!.filename), files: info!.files.map((f) => f.path) }
}

/** Serves better-sqlite3's prebuilt addon (the one npm built here) as its GitHub release tarball would be. */
async function prebuildMirror (): Promise<{ url: string, requests: string[], close: () => void }> {
  const tarball = join(work, 'better-sqlite3-prebuild.tar.gz')
  const build = join(work, 'prebuild')
  mkdirSync(join(build, 'build', 'Release'), { recursive: true })
  copyFileSync(join(repoRoot, 'node_modules', 'better-sqlite3', 'build', 'Release', 'better_sqlite3.node'), join(build, 'build', 'Release', 'better_sqlite3.node'))
  const tar = await exec('tar', ['-czf', tarball, '-C', build, 'build'])
  if (tar.code !== 0) throw new Error(tar.stderr)
  const requests: string[] = []
  const server = createServer((req, res) => {
    requests.push(req.url ?? '')
    if (req.url?.endsWith(`-node-v${process.versions.modules}-linux-x64.tar.gz`) === true) {
      res.writeHead(200, { 'content-type': 'application/gzip' })
      res.end(readFileSync(tarball))
    } else {
      res.writeHead(404).end()
    }
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests, close: () => server.close() }
}

let installed: Program | undefined
let installRoot = ''
let packedFiles: string[] = []
let binaryBuilt: Promise<Result> | undefined

test.before(async () => {
  // The binary builds while npm installs (tools/package-binary.mjs, as `npm run package-binary` without the rebuild).
  binaryBuilt = exec(process.execPath, [join(repoRoot, 'tools', 'package-binary.mjs')], { cwd: repoRoot, timeoutMs: 15 * minute })
  const { tgz, files } = await pack()
  packedFiles = files
  const mirror = await prebuildMirror()
  const prefix = join(work, 'global')
  try {
    const install = await exec('npm', ['install', '-g', '--prefix', prefix, '--no-audit', '--no-fund', tgz], {
      env: { ...process.env, npm_config_better_sqlite3_binary_host: mirror.url },
      timeoutMs: 10 * minute
    })
    if (install.code !== 0) throw new Error(`npm install -g failed: ${install.stderr}`)
    if (!mirror.requests.some((r) => r.endsWith('.tar.gz'))) throw new Error(`better-sqlite3 did not fetch its prebuilt addon: ${mirror.requests.join(', ')}`)
  } finally {
    mirror.close()
  }
  installRoot = join(prefix, 'lib', 'node_modules', 'rustory')
  installed = [process.execPath, join(prefix, 'bin', 'rr')]
})

test.serial('the tarball holds what rr runs and nothing else, and pins the whole dependency tree', (t) => {
  t.true(packedFiles.includes('bin/rr'))
  t.true(packedFiles.includes('dist/src/cli/main.js'))
  t.true(packedFiles.includes('dist/src/record.cjs'))
  t.true(packedFiles.includes('dist/src/init.cjs'))
  t.true(packedFiles.includes('dist/src/search.cjs'))
  t.true(packedFiles.includes('dist/workers/worker.js'))
  t.true(packedFiles.includes('hooks/rr.zsh'))
  t.true(packedFiles.includes('oclif.manifest.json'))
  t.true(packedFiles.includes('npm-shrinkwrap.json'))
  const stray = packedFiles.filter((f) => f.startsWith('dist/test/') || f.endsWith('.map') || f.endsWith('.ts') || f.startsWith('src/') || f.startsWith('test/') || f.startsWith('tools/'))
  t.deepEqual(stray, [])
  // What got installed: the exact libp2p the suite ran, and no WASM xsalsa20 (nor @libp2p/pnet, a devDependency).
  const pkg = JSON.parse(readFileSync(join(installRoot, 'node_modules', 'libp2p', 'package.json'), 'utf8')) as { version: string }
  t.is(pkg.version, '3.3.11')
  t.false(existsSync(join(installRoot, 'node_modules', '@libp2p', 'pnet')))
  t.false(existsSync(join(installRoot, 'node_modules', 'xsalsa20')))
})

test.serial('two devices on the installed rr sync 50 MB over pnet, printing no warning', async (t) => {
  t.timeout(8 * minute)
  await bigSync(t, installed!, installed!, 'installed')
})

test.serial('the installed rr and the single-file binary sync 50 MB over pnet, printing no warning', async (t) => {
  t.timeout(10 * minute)
  const built = await binaryBuilt!
  t.is(built.code, 0, built.stderr)
  t.true(existsSync(binary))
  await bigSync(t, installed!, [binary], 'mixed')
})

test.serial('the binary alone in an empty directory, with no node on PATH: record, search --filter, a two-device pnet sync', async (t) => {
  t.timeout(8 * minute)
  const built = await binaryBuilt!
  t.is(built.code, 0, built.stderr)
  const alone = join(work, 'alone')
  mkdirSync(alone)
  const rr = join(alone, 'rr')
  copyFileSync(binary, rr)
  t.deepEqual(readdirSync(alone), ['rr'])
  const emptyPath = join(work, 'empty-path')
  mkdirSync(emptyPath)
  const swarmKey = join(alone, 'swarm.key')
  ensureSwarmKey(swarmKey)
  const a = device('alone-a', [rr], swarmKey, alone)
  const b = device('alone-b', [rr], swarmKey, alone)
  for (const d of [a, b]) d.env.PATH = emptyPath
  try {
    const recorded = await a.run(['record', '--cmd', 'echo hello from the binary', '--cwd', '/tmp', '--exit-code', '0', '--duration-ms', '5', '--shell', 'zsh', '--print-id'])
    t.is(recorded.code, 0, recorded.stderr)
    t.regex(recorded.stdout.trim(), /^[0-9a-f-]{36}$/)
    const found = await a.run(['search', '--filter', 'hello'])
    t.is(found.code, 0, found.stderr)
    t.regex(found.stdout, /echo hello from the binary/)
    // It unpacked itself into a private directory of its own.
    const cache = join(a.home, '.cache', 'rustory')
    t.is(statSync(cache).mode & 0o777, 0o700)
    t.true(readdirSync(cache).some((n) => n.startsWith('app-')))
    await b.run(['record', '--cmd', 'echo hello from b', '--cwd', '/tmp', '--exit-code', '0', '--duration-ms', '5', '--shell', 'bash'])
    const served = await a.serve()
    const synced = await b.run(['p2p-sync', '--peers', served.addr, '--push'])
    t.is(synced.code, 0, synced.stderr)
    t.regex(synced.stdout, /pulled=1 inserted=1 pushed=1/)
    t.notRegex(synced.stderr + served.stderr(), warning)
    const onA = await a.run(['search', '--filter', 'hello from b'])
    t.regex(onA.stdout, /echo hello from b/)
  } finally {
    await Promise.all([a.close(), b.close()])
  }
  t.deepEqual(readdirSync(alone).sort(), ['rr', 'swarm.key'])
})
