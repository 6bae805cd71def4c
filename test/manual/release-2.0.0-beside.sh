#!/bin/bash
# By hand, not in CI: the previous release (b7d3e4e: wire 2.0.0, schema level 10) beside this one (3.0.0, level 11).
# Builds the release in a temporary worktree, then with real processes on 127.0.0.1:
#  1. new pulls from an old p2p-serve: the old device's entries arrive verified (trust 1);
#  2. a new rr migrates the old server's database to level 11 while that server runs; the old device then records
#     and pushes to a new server (old p2p-sync --push) and pulls from it: everything verified on both sides;
#  3. relay: new2 pulls from new over 3.0.0 (new's entries by chunk), old2 pulls from new2 over 2.0.0: old's
#     entries verified, new's unverified (a chunk-only entry is served unsigned to 2.0.0; docs/PROTOCOL.md).
# Prints each database as cmd:trust (trust 1 verified, 0 unverified, 2 recorded here and not signed yet).
# Usage, from the repository after `npm run build`: test/manual/release-2.0.0-beside.sh
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
NEW=$REPO/bin/rr
REL=$(mktemp -d /tmp/rr-rel.XXXX)
git -C "$REPO" worktree add -q --detach "$REL" b7d3e4e && cp -a "$REPO/node_modules" "$REL/" && (cd "$REL" && npm run build >/dev/null 2>&1) || exit 1
D=$(mktemp -d /tmp/rr-beside2.XXXX)
cleanup () {
  for pid in "$D"/serve-*.pid; do [ -e "$pid" ] && kill "$(cat "$pid")" 2>/dev/null; done
  git -C "$REPO" worktree remove --force "$REL"
  rm -rf "$D"
}
trap cleanup EXIT
OLD=$REL/bin/rr
export RUSTORY_SWARM_KEY_PATH=$D/swarm.key
unset NODE_EXTRA_CA_CERTS RUSTORY_CONFIG RUSTORY_DB_PATH
rr () { local bin=$1 home=$2; shift 2; HOME=$D/$home RUSTORY_DEVICE_ID=$home node "$bin" --db-path "$D/$home.db" "$@"; }
serve () {
  local bin=$1 home=$2
  HOME=$D/$home RUSTORY_DEVICE_ID=$home node "$bin" --db-path "$D/$home.db" p2p-serve --listen /ip4/127.0.0.1/tcp/0 > "$D/serve-$home.log" 2>&1 &
  echo $! > "$D/serve-$home.pid"
  for _ in $(seq 100); do grep -q 'p2p listen:' "$D/serve-$home.log" && break; sleep 0.1; done
  grep -o 'p2p listen: \S*' "$D/serve-$home.log" | head -1 | cut -d' ' -f3
}
stop () { kill "$(cat "$D/serve-$1.pid")"; rm "$D/serve-$1.pid"; sleep 0.5; }
rows () { node -e "const D=require('$REPO/node_modules/better-sqlite3');const d=new D(process.argv[1],{readonly:true});console.log(d.prepare('SELECT cmd, trust FROM entries ORDER BY ingest_seq').all().map(r=>r.cmd+':'+r.trust).join(' '))" "$D/$1.db"; }
mkdir -p "$D"/{old,new,new2,old2}
HOME=$D/old node "$OLD" swarm-key > /dev/null
for i in 1 2 3; do
  rr "$OLD" old record --cmd "echo old-$i" --cwd /tmp --exit-code 0 --shell bash
  rr "$NEW" new record --cmd "echo new-$i" --cwd /tmp --exit-code 0 --shell bash
done
A=$(serve "$OLD" old)
rr "$NEW" new p2p-sync --peers "$A" 2>&1 | tail -1
echo "1. new: $(rows new)"
node --input-type=module -e "import { openDatabase } from '$REPO/dist/src/store/db.js'; openDatabase('$D/old.db').close()"
echo "2. old.db migrated by the new rr while the old server runs: level $(node -e "const D=require('$REPO/node_modules/better-sqlite3');console.log(new D('$D/old.db',{readonly:true}).prepare('SELECT version FROM schema_level').pluck().get())")"
B=$(serve "$NEW" new)
rr "$OLD" old record --cmd 'echo old-4-after-migration' --cwd /tmp --exit-code 0 --shell bash
rr "$OLD" old p2p-sync --push --peers "$B" 2>&1 | tail -1
stop old
echo "   old: $(rows old)"
echo "   new: $(rows new)"
rr "$NEW" new2 p2p-sync --peers "$B" 2>&1 | tail -1
stop new
C=$(serve "$NEW" new2)
rr "$OLD" old2 p2p-sync --peers "$C" 2>&1 | tail -1
stop new2
echo "3. new2: $(rows new2)"
echo "   old2: $(rows old2)"
