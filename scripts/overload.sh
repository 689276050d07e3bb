#!/usr/bin/env bash
# The overload run behind PERFORMANCE.md's figures: the server gets a share of core 0
# (a cgroup v1 CPU quota), the load generator core 1, and `rota-loadtest overload` offers
# three times what the server can do (title-and-author citations, the heavy path).
#
#   scripts/overload.sh                 # half a core, 2 ms CFS period, 5 s per phase
#   QUOTA_US=2000 scripts/overload.sh   # a whole core (no throttling)
#   PERIOD_US=10000 scripts/overload.sh # a 10 ms period (pauses of up to 5 ms of its own)
#   ROTA=path/to/rota SECS=10 scripts/overload.sh
#
# Needs root and /sys/fs/cgroup/cpu (cgroup v1). On two cores the generator cannot offer
# three times what rota does with both (a tonic client call costs about what an
# identifier route does), hence the quota.
set -euo pipefail
cd "$(dirname "$0")/.."
PERIOD_US=${PERIOD_US:-2000}
QUOTA_US=${QUOTA_US:-$((PERIOD_US / 2))}
ROTA=${ROTA:-target/release/rota}
LOADTEST=${LOADTEST:-target/release/rota-loadtest}
[ -x "$ROTA" ] && [ -x "$LOADTEST" ] || cargo build --release -p rota-cli -p rota-loadtest
CG=/sys/fs/cgroup/cpu/rota-overload
mkdir -p "$CG"
echo -1 > "$CG/cpu.cfs_quota_us"
echo "$PERIOD_US" > "$CG/cpu.cfs_period_us"
echo "$QUOTA_US" > "$CG/cpu.cfs_quota_us"
data=$(mktemp -d)
trap 'kill "$pid" 2>/dev/null || true; rm -rf "$data"' EXIT
# loads unthrottled (the demo is generated once), then joins the cgroup
taskset -c 0 "$ROTA" serve --demo-records 200000 --demo-libraries 100 \
  --metrics-listen off --listen 127.0.0.1:0 --data-dir "$data" > "$data/out" 2> "$data/err" &
pid=$!
for _ in $(seq 300); do grep -q "catalogue loaded; serving" "$data/err" && break; sleep 1; done
grep -q "catalogue loaded; serving" "$data/err" || { cat "$data/err"; exit 1; }
for t in /proc/$pid/task/*; do basename "$t" > "$CG/tasks"; done
echo "$pid" > "$CG/cgroup.procs"
addr=$(grep -o 'http://[0-9.:]*' "$data/out" | head -1)
taskset -c 1 "$LOADTEST" overload --server "$addr" --records 200000 --libraries 100 \
  --seconds "${SECS:-5}" --titles --pid "$pid"
