// `npm run package-binary`: writes dist/rr-linux-x64, one executable that runs every rr command on a Linux x64
// machine without Node or node_modules (Node's single executable applications, SEA).
//
// 1. Node 24 (RUSTORY_SEA_NODE_VERSION, default below) from the npm registry, with better-sqlite3 built for its ABI
//    (tools/node-for.sh; both cached). Node 24: the newest line the suite runs (.ci/run), LTS until April 2028.
// 2. Stages rustory as npm would install it: the files `npm pack` lists, and the production dependency tree exactly
//    as the lockfile installed it, minus sources, docs, maps and other platforms' prebuilt addons. Every native
//    addon (*.node) the tree holds goes in as it is, plus better-sqlite3's build for the embedded Node's ABI.
// 3. Packs the stage into one gzipped archive (see tools/sea-main.cjs for the format), makes the SEA blob with
//    that archive as an asset and tools/sea-main.cjs as the main script, and injects it into a copy of the Node
//    binary with postject.
import { execFileSync, spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { dirname, join, relative, sep } from 'node:path'
import { fileURLToPath } from 'node:url'
import { gzipSync } from 'node:zlib'

const root = fileURLToPath(new URL('..', import.meta.url))
const nodeVersion = process.env.RUSTORY_SEA_NODE_VERSION ?? '24.22.3'
const out = join(root, 'dist', 'rr-linux-x64')
const work = join(root, 'dist', 'sea')
const stage = join(work, 'app')

function log (line) {
  process.stderr.write(`package-binary: ${line}\n`)
}

function run (cmd, args, options = {}) {
  return execFileSync(cmd, args, { cwd: root, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 64 * 1024 * 1024, ...options })
}

/** Runs a tool whose chatter (postject's ELF section notes) is shown only when it fails. */
function quiet (cmd, args) {
  const result = spawnSync(cmd, args, { cwd: root, encoding: 'utf8' })
  if (result.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed:\n${result.stdout}${result.stderr}`)
}

if (process.platform !== 'linux' || process.arch !== 'x64') throw new Error('package-binary builds the linux-x64 binary, on linux-x64')

log(`Node ${nodeVersion} and better-sqlite3 for it`)
const node = run(join(root, 'tools', 'node-for.sh'), [nodeVersion]).trim()

rmSync(work, { recursive: true, force: true })
mkdirSync(stage, { recursive: true })

// What `npm pack` would ship (the package.json `files`), as npm lists it.
const [packed] = JSON.parse(run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts']))
for (const { path } of packed.files) {
  mkdirSync(dirname(join(stage, path)), { recursive: true })
  copyFileSync(join(root, path), join(stage, path))
}

// The production dependency tree, each package's own files (its nested node_modules are listed on their own).
// Left out: tests, docs, sources of compiled code (better-sqlite3 ships SQLite's), maps, type declarations.
const skippedDir = /^(\.github|test|tests|docs?|benchmarks?|examples?|deps)(\/|$)|(^|\/)(obj\.target|\.deps)(\/|$)/
const skippedFile = /\.(map|ts|mts|cts|md|markdown|bare|gyp|gypi|c|cc|cpp|h|hpp|o|a|mk)$|(^|\/)Makefile$/
const packages = run('npm', ['ls', '--omit=dev', '--all', '--parseable']).split('\n').slice(1).filter((p) => p !== '')
for (const dir of new Set(packages)) {
  const rel = relative(root, dir)
  const compiled = existsSync(join(dir, 'binding.gyp'))
  cpSync(dir, join(stage, rel), {
    recursive: true,
    filter: (source) => {
      const inner = relative(dir, source).split(sep).join('/')
      if (inner === '') return true
      if (inner === 'node_modules' || inner.startsWith('node_modules/')) return false
      // Prebuilt addons for other platforms (sodium-native ships about a dozen).
      if (/^prebuilds\/(?!linux-x64(\/|$))/.test(inner)) return false
      if (compiled && /^src(\/|$)/.test(inner)) return false
      return !skippedDir.test(inner) && !skippedFile.test(inner)
    }
  })
}

// better-sqlite3 built for the embedded Node's ABI (tools/node-for.sh leaves it beside that Node's bin/).
const sqliteRoot = join(stage, 'node_modules', 'better-sqlite3')
const sqliteVersion = JSON.parse(readFileSync(join(sqliteRoot, 'package.json'), 'utf8')).version
rmSync(join(sqliteRoot, 'build'), { recursive: true, force: true })
mkdirSync(join(sqliteRoot, 'build', 'Release'), { recursive: true })
copyFileSync(join(dirname(dirname(node)), `better_sqlite3-${sqliteVersion}.node`), join(sqliteRoot, 'build', 'Release', 'better_sqlite3.node'))

// The archive: [u32 index length][JSON index [[path, mode, size]...]][bytes...], gzipped.
const files = []
const walk = (dir) => {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = join(dir, entry.name)
    if (entry.isDirectory()) walk(full)
    else if (entry.isFile()) files.push(full)
  }
}
walk(stage)
files.sort()
const addons = files.filter((f) => f.endsWith('.node')).map((f) => relative(stage, f))
const index = files.map((f) => {
  const st = statSync(f)
  const executable = (st.mode & 0o111) !== 0 || f.endsWith('.node')
  return [relative(stage, f).split(sep).join('/'), executable ? 0o755 : 0o644, st.size]
})
const indexBytes = Buffer.from(JSON.stringify(index))
const header = Buffer.alloc(4)
header.writeUInt32BE(indexBytes.length)
const raw = Buffer.concat([header, indexBytes, ...files.map((f) => readFileSync(f))])
const archive = gzipSync(raw, { level: 6 })
writeFileSync(join(work, 'app.bin'), archive)
writeFileSync(join(work, 'app.sha256'), createHash('sha256').update(archive).digest('hex'))
log(`app: ${files.length} files, ${(raw.length / 1e6).toFixed(1)} MB (${(archive.length / 1e6).toFixed(1)} MB gzipped); native addons: ${addons.join(', ')}`)

writeFileSync(join(work, 'sea-config.json'), JSON.stringify({
  main: join(root, 'tools', 'sea-main.cjs'),
  output: join(work, 'sea-prep.blob'),
  disableExperimentalSEAWarning: true,
  useSnapshot: false,
  useCodeCache: false,
  assets: { app: join(work, 'app.bin'), 'app.sha256': join(work, 'app.sha256') }
}))
quiet(node, ['--experimental-sea-config', join(work, 'sea-config.json')])

rmSync(out, { force: true })
copyFileSync(node, out)
chmodSync(out, 0o755)
const postject = join(root, 'node_modules', 'postject', 'dist', 'cli.js')
if (!existsSync(postject)) throw new Error('postject is missing: run npm install (it is a devDependency)')
quiet(process.execPath, [postject, out, 'NODE_SEA_BLOB', join(work, 'sea-prep.blob'), '--sentinel-fuse', 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2'])
rmSync(stage, { recursive: true, force: true })
log(`wrote ${relative(root, out)} (${(statSync(out).size / 1e6).toFixed(0)} MB, Node ${nodeVersion})`)
