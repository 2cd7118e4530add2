#!/usr/bin/env bash
# Runs both fuzz targets side by side (one per core) for N seconds each, default 60:
#
#   fuzz/run.sh [SECONDS]
#
# Works on the stable toolchain: `--sanitizer none` keeps cargo-fuzz from passing
# `-Zsanitizer=address`, which stable rustc refuses. Needs `cargo install cargo-fuzz --locked`.
# The committed seeds in corpus/<target>/ are only read; what libFuzzer adds goes to
# target/corpus/<target>/ (ignored), logs to target/<target>.log, crashes to artifacts/<target>/.
# Exits 1 when a target found a crash, a timeout or an out-of-memory input.
set -euo pipefail
cd "$(dirname "$0")"
secs="${1:-60}"
targets=(parse_check csv_load)

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "cargo-fuzz is missing: cargo install cargo-fuzz --locked" >&2
    exit 2
fi

# Build first, one at a time, so the runs start together and only fuzz.
for t in "${targets[@]}"; do
    cargo fuzz build --sanitizer none "$t"
done

pids=()
for t in "${targets[@]}"; do
    mkdir -p "target/corpus/$t"
    extra=()
    if [ -f "$t.dict" ]; then extra+=("-dict=$t.dict"); fi
    cargo fuzz run --sanitizer none "$t" "target/corpus/$t" "corpus/$t" -- \
        -max_total_time="$secs" -rss_limit_mb=2048 -timeout=10 -print_final_stats=1 \
        ${extra[@]+"${extra[@]}"} >"target/$t.log" 2>&1 &
    pids+=("$!")
done

status=0
for i in "${!targets[@]}"; do
    t="${targets[$i]}"
    if wait "${pids[$i]}"; then
        result="ok"
    else
        result="FAILED: see fuzz/target/$t.log and fuzz/artifacts/$t/"
        status=1
    fi
    done_line="$(grep -a 'DONE' "target/$t.log" | tail -1 || true)"
    runs="$(grep -a '^stat::number_of_executed_units' "target/$t.log" | awk '{print $2}' || true)"
    echo "$t: $result; ${runs:-?} executions; ${done_line:-no DONE line}"
done
rm -f /dev/shm/hotline-fuzz-csv-*.csv "${TMPDIR:-/tmp}"/hotline-fuzz-csv-*.csv
exit "$status"
