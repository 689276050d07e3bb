#!/usr/bin/env bash
# Runs the libFuzzer targets in fuzz/ on the stable toolchain (cargo-fuzz wants nightly
# for its sanitizers; libFuzzer's coverage instrumentation works on stable).
#
#   scripts/fuzz.sh                     # every target, 60 s each
#   scripts/fuzz.sh marc_reader 600     # one target, ten minutes
#   FUZZ_RUNS=10000000 scripts/fuzz.sh "wire log_reader"   # a number of executions each
#
# Targets: marc_reader (ISO 2709, MARCXML, MARC-8), identifiers (normalisers and index
# keys), holdings (the holdings run reader), index_parts (identifier tables and posting
# lists), snapshot (the snapshot container), wire (every rota.v1 message through the
# server's conversions: accepted values survive the wire and the log unchanged),
# log_reader (the durable log's segment reader: torn tails, damage, reframing). The MARC
# target is seeded with records from ../shared/data when it is there; fuzz/seeds/TARGET
# (committed) seeds the others that have one. Corpora and crash
# inputs stay in fuzz/corpus and fuzz/artifacts (not committed); a crash input replays
# with `fuzz/target/x86_64-unknown-linux-gnu/release/TARGET fuzz/artifacts/crash-…`.
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${2:-60}
targets=${1:-"marc_reader identifiers holdings index_parts snapshot wire log_reader"}
if [ -n "${FUZZ_RUNS:-}" ]; then limit="-runs=$FUZZ_RUNS"; else limit="-max_total_time=$secs"; fi
triple=$(rustc -vV | sed -n 's/^host: //p')
# with --target given, RUSTFLAGS reach only the fuzzed code, not build scripts
export RUSTFLAGS="-Cpasses=sancov-module -Cllvm-args=-sanitizer-coverage-level=4 \
-Cllvm-args=-sanitizer-coverage-inline-8bit-counters -Cllvm-args=-sanitizer-coverage-pc-table \
-Cllvm-args=-sanitizer-coverage-trace-compares -Cdebug-assertions -Coverflow-checks"
cargo build --release --bins --target "$triple"
bin="target/$triple/release"
mkdir -p artifacts
data=../../shared/data
if [ -d "$data" ] && [ ! -d corpus/marc_reader ]; then
  mkdir -p corpus/marc_reader
  python3 - "$data" corpus/marc_reader <<'EOF'
import glob, os, sys
data, out = sys.argv[1], sys.argv[2]
for f in glob.glob(f"{data}/**/*.m*rc", recursive=True):
    for i, rec in enumerate(open(f, "rb").read().split(b"\x1d")[:40]):
        if len(rec) > 24:
            open(f"{out}/{os.path.basename(f)}-{i}", "wb").write(rec + b"\x1d")
for f in glob.glob(f"{data}/**/*.xml", recursive=True):
    open(f"{out}/{os.path.basename(f)}", "wb").write(open(f, "rb").read()[:12000])
EOF
fi
status=0
for t in $targets; do
  mkdir -p "corpus/$t"
  seeds=()
  [ -d "seeds/$t" ] && seeds=("seeds/$t")
  echo "== $t ($limit)"
  if ! "$bin/$t" "corpus/$t" "${seeds[@]}" "$limit" -max_len=16384 \
      -artifact_prefix=artifacts/ -print_final_stats=1 2>&1 | grep -E "^Done|stat::number_of_executed_units|ERROR|panicked"; then
    :
  fi
  if ls artifacts/crash-* >/dev/null 2>&1; then
    echo "crash inputs in fuzz/artifacts" >&2
    status=1
  fi
done
exit $status
