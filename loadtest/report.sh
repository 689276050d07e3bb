#!/usr/bin/env bash
# Reproduces PERFORMANCE.md's figures: rota vs the do-nothing gRPC floor vs PostgreSQL on
# the demo consortium (300 libraries, 1 M records), on this machine, client and servers
# sharing it, plus how the engine scales with records and libraries.
#
#   loadtest/report.sh            # everything, about 10 minutes on 2 cores
#   SECONDS_PER_RUN=5 SKIP_SCALING=1 loadtest/report.sh   # quicker
#
# Results (JSON), results.md and the SVG charts land in $OUT (default target/perf).
# PostgreSQL: the Debian server (installed with apt when missing and running as root),
# started on 127.0.0.1:54329 in $OUT/pg and stopped at the end.
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${OUT:-target/perf}
SECS=${SECONDS_PER_RUN:-10}
mkdir -p "$OUT/results"
OUT=$(cd "$OUT" && pwd)
R="$OUT/results"

cargo build --release --locked -p rota-cli -p rota-loadtest -p rota-benches

# ---------------------------------------------------------------- PostgreSQL
pgbin=$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)
if [ -z "$pgbin" ]; then
  if [ "$(id -u)" = 0 ]; then
    DEBIAN_FRONTEND=noninteractive apt-get install -y -q postgresql >/dev/null
    pgbin=$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)
  else
    echo "PostgreSQL is not installed (apt-get install postgresql) and we are not root" >&2
    exit 1
  fi
fi
as_pg() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
rm -rf "$OUT/pg"; mkdir -p "$OUT/pg"
[ "$(id -u)" = 0 ] && chown postgres "$OUT/pg"
as_pg "$pgbin/initdb" -D "$OUT/pg/db" -A trust -U postgres >/dev/null
as_pg "$pgbin/pg_ctl" -D "$OUT/pg/db" -l "$OUT/pg/log" -w \
  -o "-p 54329 -k $OUT/pg -c listen_addresses=127.0.0.1 -c shared_buffers=1GB -c max_connections=50" start >/dev/null
PG="host=127.0.0.1 port=54329 user=postgres dbname=postgres"

# ---------------------------------------------------------------- rota and the floor
data="$OUT/rota-data"
mkdir -p "$data"
# every run starts from the demo alone: an earlier run's durable log and checkpoint would
# be replayed into the live state and inflate its memory (the cached snapshot is kept)
rm -rf "$data/log" "$data"/checkpoint*
cleanup() {
  kill $(jobs -p) 2>/dev/null || true
  as_pg "$pgbin/pg_ctl" -D "$OUT/pg/db" -m fast stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
target/release/rota serve --listen 127.0.0.1:0 --metrics-listen off --iso18626-listen off --console-listen off --data-dir "$data" \
  > "$OUT/serve.out" 2> "$OUT/serve.err" &
rota_pid=$!
target/release/rota-loadtest floor --listen 127.0.0.1:0 > "$OUT/floor.out" 2>&1 &
for _ in $(seq 1 1200); do
  if grep -q "serving" "$OUT/serve.err" 2>/dev/null && grep -q "listening on" "$OUT/floor.out" 2>/dev/null; then break; fi
  sleep 0.1
done
rota=$(sed -n 's/^rota listening on \([^ ]*\).*/\1/p' "$OUT/serve.out")
floor=$(sed -n 's/^floor listening on \(.*\)$/\1/p' "$OUT/floor.out")
[ -n "$rota" ] && [ -n "$floor" ] || { echo "servers did not start" >&2; cat "$OUT/serve.err" >&2; exit 1; }
echo "rota on $rota, floor on $floor, PostgreSQL on 127.0.0.1:54329"

# ---------------------------------------------------------------- gRPC runs
big=100000000
for side in floor rota; do
  target=$floor; [ $side = rota ] && target=$rota
  target/release/rota-loadtest run --server "$target" --mode route --connections 4 --in-flight 16 \
    --seconds "$SECS" --requests $big --json "$R/$side-route.json" > /dev/null
  target/release/rota-loadtest run --server "$target" --mode stream --connections 4 --in-flight 16 \
    --seconds "$SECS" --requests $big --json "$R/$side-stream.json" > /dev/null
  target/release/rota-loadtest run --server "$target" --mode batch --connections 2 --in-flight 2 --batch 500 \
    --seconds "$SECS" --requests $big --json "$R/$side-batch.json" > /dev/null
  target/release/rota-loadtest run --server "$target" --mode report --connections 2 --in-flight 4 --batch 5000 \
    --seconds "$SECS" --requests $big --json "$R/$side-report.json" > /dev/null
done
rss_kb=$(awk '/VmRSS/ {print $2}' /proc/$rota_pid/status)
kill $rota_pid; wait $rota_pid 2>/dev/null || true

# ---------------------------------------------------------------- PostgreSQL baseline
snap=$(ls "$data"/demo-*.snap | head -1)
dir="${snap%.snap}.lenders.toml"
target/release/rota-loadtest baseline --pg "$PG" --snapshot "$snap" --directory "$dir" \
  --mode engine --concurrency 4 --seconds "$SECS" --reload --json "$R/baseline-engine.json" > /dev/null
target/release/rota-loadtest baseline --pg "$PG" --snapshot "$snap" --directory "$dir" \
  --mode batch --side postgres --concurrency 2 --batch 500 --seconds "$SECS" --json "$R/baseline-batch.json" > /dev/null
pg_bytes=$(psql "$PG" -Atc "select pg_database_size('postgres')")
echo "{\"rota_rss_bytes\": $((rss_kb * 1024)), \"postgres_database_bytes\": $pg_bytes, \"snapshot_bytes\": $(stat -c %s "$snap")}" > "$R/memory.json"

# ---------------------------------------------------------------- scaling
if [ -z "${SKIP_SCALING:-}" ]; then
  target/release/bench-report --scaling > "$R/scaling.md" 2> "$R/scaling.jsonl"
fi

# ---------------------------------------------------------------- tables and charts
target/release/rota-loadtest report --results "$R" --out "$OUT"
cat "$R/memory.json"
echo "charts: $OUT/throughput.svg $OUT/latency-p99.svg $OUT/scaling.svg"
