#!/usr/bin/env bash
# A short smoke load (seconds, not minutes): starts a small demo rota and the floor on
# loopback, drives every mode briefly, and fails if any request failed. A request shed
# with RESOURCE_EXHAUSTED (no core free within limits.max_queue_ms, which a closed loop on
# a busy 2-core machine meets now and then) is the server working as designed: counted
# apart, never a failure. Thresholds live in BENCHMARKS.md, not here.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release --locked -p rota-cli -p rota-loadtest
data=$(mktemp -d)
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$data"' EXIT
target/release/rota serve --listen 127.0.0.1:0 --metrics-listen off --iso18626-listen off --console-listen off --data-dir "$data" \
  --demo-records 50000 --demo-libraries 100 > "$data/serve.out" 2> "$data/serve.err" &
target/release/rota-loadtest floor --listen 127.0.0.1:0 > "$data/floor.out" 2>&1 &
for _ in $(seq 1 600); do
  if grep -q "listening on" "$data/serve.out" 2>/dev/null && grep -q "listening on" "$data/floor.out" 2>/dev/null \
     && grep -q "serving" "$data/serve.err" 2>/dev/null; then break; fi
  sleep 0.1
done
rota=$(sed -n 's/^rota listening on \([^ ]*\).*/\1/p' "$data/serve.out")
floor=$(sed -n 's/^floor listening on \(.*\)$/\1/p' "$data/floor.out")
[ -n "$rota" ] && [ -n "$floor" ] || { echo "servers did not start"; cat "$data/serve.err"; exit 1; }
common=(--records 50000 --libraries 100 --seconds 2 --connections 2)
for target in "$floor" "$rota"; do
  target/release/rota-loadtest run --server "$target" --mode route --in-flight 8 --requests 20000 "${common[@]}"
  target/release/rota-loadtest run --server "$target" --mode stream --in-flight 8 --requests 5000 "${common[@]}"
  target/release/rota-loadtest run --server "$target" --mode batch --in-flight 1 --batch 500 --requests 20000 "${common[@]}"
  target/release/rota-loadtest run --server "$target" --mode report --in-flight 2 --batch 1000 --requests 20000 "${common[@]}"
done
# overload: three times the measured capacity; fails only if a call gets anything but an
# answer or RESOURCE_EXHAUSTED (the figures go to PERFORMANCE.md, never asserted here)
pid=$(pgrep -f "rota serve --listen 127.0.0.1:0 --metrics-listen off --iso18626-listen off --console-listen off --data-dir $data" | head -1)
target/release/rota-loadtest overload --server "$rota" --records 50000 --libraries 100 --seconds 2 \
  --connections 2 --in-flight 8 --titles ${pid:+--pid "$pid"}
echo "smoke load: every request answered or shed"
