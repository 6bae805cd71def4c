#!/bin/bash
# By hand (test/integration/release-0.1.0.test.ts runs the same in CI, without the 35 s wait): a running rustory
# 0.1.0 `rr p2p-serve` keeps storing pushes after a new rr migrates its database (schema v7+, docs/TRUST.md).
# Builds the release (cf546e7) in a temporary worktree, serves a database with it, pushes with its
# `rr p2p-sync --push` before the migration, right after it (the server's ingest worker still has its statements
# prepared) and 35 s later (piscina has ended the idle workers: a new one opens the file again).
# The new rr migrates by `rr import` (its `rr record` only writes the spool, which the old server may drain first).
# Usage, from the repository after `npm run build`: test/manual/release-0.1.0-beside.sh [port]
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
NEW=$REPO/bin/rr; PORT=${1:-48917}
REL=$(mktemp -d /tmp/rr-rel.XXXX)
git -C "$REPO" worktree add -q "$REL" cf546e7 && cp -a "$REPO/node_modules" "$REL/" && (cd "$REL" && npm run build >/dev/null 2>&1) || exit 1
trap 'git -C "$REPO" worktree remove --force "$REL"' EXIT
OLD=$REL/bin/rr
M=$(mktemp -d /tmp/rr-beside.XXXX)
mkdir -p $M/hs $M/hp
unset RUSTORY_CONFIG
S="--db-path $M/server.db --swarm-key $M/swarm.key --device-id server --user-id u"
P="--db-path $M/pusher.db --swarm-key $M/swarm.key --device-id pusher --user-id u"
HOME=$M/hs node $OLD p2p-serve $S --identity-key $M/hs/id.key --listen /ip4/127.0.0.1/tcp/$PORT > $M/serve.log 2>&1 &
SERVE=$!
for i in $(seq 1 100); do grep -q 'p2p listen:' $M/serve.log && break; sleep 0.2; done
ADDR=$(grep -o '/ip4/127.0.0.1/tcp/[0-9]*/p2p/[A-Za-z0-9]*' $M/serve.log | head -1)
echo "old p2p-serve pid $SERVE at $ADDR"
q () { node -e "const D=require('$REPO/node_modules/better-sqlite3');const d=new D(process.argv[1],{readonly:true});console.log(JSON.stringify(d.prepare(process.argv[2]).all()))" "$M/server.db" "$1"; }
push () {
  HOME=$M/hp node $OLD record $P --cmd "$1" --exit-code 0 --duration-ms 1 --shell bash >/dev/null 2>&1
  HOME=$M/hp node $OLD p2p-sync $P --peers $ADDR --push > $M/push.log 2>&1; echo "old p2p-sync --push '$1': exit $?; $(tail -2 $M/push.log | tr '\n' ' ')"
  q "SELECT count(*) AS stored FROM entries WHERE cmd = '$1'"
}
push 'pushed before the migration'
HOME=$M/hs node $NEW record --db-path $M/server.db --device-id server --user-id u --cmd 'recorded by the new rr' --exit-code 0 --shell bash
printf 'echo imported by the new rr\n' > $M/bash_history
HOME=$M/hs node $NEW import bash --path $M/bash_history --db-path $M/server.db --device-id server --user-id u >$M/new.out 2>&1; echo "new rr import: exit $? $(tr '\n' ' ' < $M/new.out)"
q "SELECT (SELECT version FROM schema_level) AS level, (SELECT user_version FROM pragma_user_version) AS user_version, (SELECT count(*) FROM entries WHERE cmd IN ('recorded by the new rr', 'echo imported by the new rr')) AS new_rows"
push 'pushed right after the migration (worker still open)'
echo "waiting 35 s: the old server's worker threads idle out (piscina idleTimeout 30 s)"; sleep 35
push 'pushed after the workers restarted'
q "SELECT device_id, cmd, origin, trust FROM entries ORDER BY ingest_seq"
echo "--- old server log:"; cat $M/serve.log
kill $SERVE; wait $SERVE 2>/dev/null
