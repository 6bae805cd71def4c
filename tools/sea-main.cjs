// The main script of the single-file `rr` (dist/rr-linux-x64, Node's single executable applications; built by
// tools/package-binary.mjs). The executable is a Node binary with this script and one asset, `app`: rustory as
// npm installs it (bin, dist, hooks, production node_modules with their native addons built for this Node, the
// piscina worker files), packed by tools/package-binary.mjs.
//
// A SEA's own require() loads built-in modules only, and native addons and worker threads need real files. So the
// first run unpacks `app` into a private directory, ~/.cache/rustory/app-<sha256 prefix>/ (0700, checked to be the
// user's own and not writable by others), renamed into place whole so a concurrent run never sees half of it;
// every run then loads bin/rr from there with an ordinary require, exactly like an npm install would.
'use strict'
const { getAsset, getRawAsset } = require('node:sea')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const zlib = require('node:zlib')
const { createRequire } = require('node:module')

function fail (message) {
  process.stderr.write(`rr: ${message}\n`)
  process.exit(2)
}

/** A directory of ours: created 0700 if missing; refused when another user owns it or others may write to it. */
function privateDir (dir) {
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 })
  const st = fs.lstatSync(dir)
  const uid = typeof process.getuid === 'function' ? process.getuid() : st.uid
  if (!st.isDirectory() || st.uid !== uid || (st.mode & 0o022) !== 0) {
    fail(`${dir} must be a directory of your own that only you can write to (chmod 700 ${dir}, or set XDG_CACHE_HOME)`)
  }
  return dir
}

/**
 * The archive: a 4-byte big-endian length, a JSON index [[path, mode, size], ...], then the files' bytes in that
 * order; all of it gzipped.
 */
function unpack (target) {
  const data = zlib.gunzipSync(Buffer.from(getRawAsset('app')))
  const indexLength = data.readUInt32BE(0)
  const index = JSON.parse(data.subarray(4, 4 + indexLength).toString('utf8'))
  let offset = 4 + indexLength
  for (const [name, mode, size] of index) {
    const file = path.join(target, name)
    fs.mkdirSync(path.dirname(file), { recursive: true, mode: 0o755 })
    fs.writeFileSync(file, data.subarray(offset, offset + size), { mode })
    offset += size
  }
}

function appDir () {
  const hash = getAsset('app.sha256', 'utf8').trim()
  const cacheHome = process.env.XDG_CACHE_HOME || path.join(os.homedir(), '.cache')
  const base = privateDir(path.join(cacheHome, 'rustory'))
  const dir = path.join(base, `app-${hash.slice(0, 24)}`)
  if (fs.existsSync(path.join(dir, 'bin', 'rr'))) return dir
  const partial = fs.mkdtempSync(path.join(base, '.unpacking-'))
  try {
    unpack(partial)
    fs.renameSync(partial, dir)
  } catch (err) {
    fs.rmSync(partial, { recursive: true, force: true })
    // Another rr unpacked the same archive first: use theirs.
    if (!fs.existsSync(path.join(dir, 'bin', 'rr'))) fail(`cannot unpack rustory into ${base}: ${err.message}`)
  }
  return dir
}

const rr = path.join(appDir(), 'bin', 'rr')
createRequire(rr)(rr)
