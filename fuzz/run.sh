#!/usr/bin/env bash
# Runs every fuzz target for SECONDS (default 300) on the seed corpora, one after another, and
# prints each target's executions. Needs the nightly toolchain and cargo-fuzz:
#   rustup toolchain install nightly && cargo install cargo-fuzz
# Usage: fuzz/run.sh [SECONDS] [TARGET ...]
set -euo pipefail
cd "$(dirname "$0")"
seconds="${1:-300}"
shift || true
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
    targets=(envelope decode store_body normalize grouping auth)
fi
python3 seed.py
# Built once, then the binaries run directly: edits to the server while fuzzing do not
# trigger a rebuild between targets.
cargo +nightly fuzz build
bin="target/$(rustc +nightly -vV | sed -n 's/^host: //p')/release"
for t in "${targets[@]}"; do
    mkdir -p "artifacts/$t"
    # -rss_limit_mb: an input that makes the parser allocate over 2 GB is a finding too.
    "$bin/$t" "corpus/$t" -artifact_prefix="artifacts/$t/" -max_total_time="$seconds" \
        -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 2> "artifacts/$t.log" || {
        echo "$t: FAILED (see fuzz/artifacts/$t.log)"; tail -30 "artifacts/$t.log"; exit 1; }
    runs=$(grep -o 'stat::number_of_executed_units: *[0-9]*' "artifacts/$t.log" | grep -o '[0-9]*$')
    echo "$t: $runs executions in $seconds s, no crash, hang or out-of-memory"
done
