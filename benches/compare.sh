#!/usr/bin/env bash
# hotline render vs DuckDB on the same generated ticket files.
#
# Usage:
#   benches/compare.sh                 # 5000, 1000000 and 10000000 tickets
#   benches/compare.sh 5000 100000     # any sizes (a quick run)
#   BENCH_DATA=DIR benches/compare.sh  # an existing data folder (DIR/2023-03/tickets.csv, …)
#
# Environment:
#   BENCH_RUNS=5        timed runs of each program per size (median and min–max are reported)
#   BENCH_THREADS=2     threads of each: DuckDB's `SET threads`, hotline's HOTLINE_THREADS
#   BENCH_SEED=S        passed to the generator as --seed
#   BENCH_DUCKDB=SPEC   the pip requirement to install (default `duckdb`, e.g. `duckdb==1.2.0`)
#
# For each size it
#   1. generates the data once into target/bench-data/<rows>/ (2023-03 and the previous month,
#      both <rows> tickets) with `cargo run --release --example generate`; a marker file
#      records the arguments and a hash of benches/generate.rs, and the data is reused while
#      they match;
#   2. renders the Dong'e policy and benches/figures.policy with `hotline render --format json`
#      and runs the DuckDB query of benches/duckdb_figures.py on the same tickets.csv, and checks
#      that all four give the same 承办量, 响应率, 按时办理率, 解决率 and 综合满意率 for every
#      unit (exit 1 if not);
#   3. times BENCH_RUNS runs of each, alternating, every run a separate process under
#      /usr/bin/time (wall seconds and peak RSS):
#        hotline report:  `target/release/hotline render POLICY --data DIR --month 2023-03 -o
#                         report.md`, the whole report end to end (it also reads the previous
#                         month, the spot checks and the deductions workbook);
#        hotline figures: the same command with benches/figures.policy: the five figures per
#                         unit from the one tickets.csv DuckDB reads (and, by default, the
#                         SHA-256 of that file for the report's footer);
#        no digests:      the same policy with `fingerprint none` (written to
#                         target/bench-out/figures-none.policy): DuckDB's work (and the
#                         checks of the declared columns its query does not read);
#        DuckDB:          `python benches/duckdb_figures.py …` (Python start-up and `import
#                         duckdb` included), which also reports its in-process query time.
# The runs after the check find the files in the page cache.
#
# The results are printed as a Markdown table (to paste into README.md) and written to
# target/bench-results.md. DuckDB is installed from PyPI into a virtual environment in
# target/bench-venv (reused when present); nothing is installed outside the clone.

set -euo pipefail

die() {
  echo "compare.sh: $*" >&2
  exit 1
}

cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT=$PWD
POLICY=policies/dong-e-monthly.policy
FIGURES=benches/figures.policy
# The figures policy without the footer's digests (`fingerprint none`), written below.
UNHASHED=$ROOT/target/bench-out/figures-none.policy
MONTH=2023-03
RUNS=${BENCH_RUNS:-5}
THREADS=${BENCH_THREADS:-2}
VENV=$ROOT/target/bench-venv
PY=$VENV/bin/python
HOTLINE=$ROOT/target/bench-out/hotline
export HOTLINE_THREADS=$THREADS
RESULTS=$ROOT/target/bench-results.md

[[ $RUNS =~ ^[1-9][0-9]*$ ]] || die "BENCH_RUNS must be a positive number, not '$RUNS'"
[[ $THREADS =~ ^[1-9][0-9]*$ ]] || die "BENCH_THREADS must be a positive number, not '$THREADS'"
if [[ -n ${BENCH_DATA:-} ]]; then
  [[ -f $BENCH_DATA/$MONTH/tickets.csv ]] || die "no $BENCH_DATA/$MONTH/tickets.csv"
  BENCH_DATA=$(cd "$BENCH_DATA" && pwd)
  SIZES=(data)
elif (($# > 0)); then
  SIZES=("$@")
else
  SIZES=(5000 1000000 10000000)
fi
for n in "${SIZES[@]}"; do
  [[ $n == data || $n =~ ^[1-9][0-9]*$ ]] || die "a size is a number of tickets, not '$n'"
done

# ------------------------------------------------------------------ tools

command -v python3 >/dev/null || die "python3 is needed (for DuckDB's Python package); install it first"
[[ -x /usr/bin/time ]] || die "/usr/bin/time (GNU time) is needed to measure peak memory; install the 'time' package"
command -v cargo >/dev/null || die "cargo is needed"

if [[ ! -x $PY ]]; then
  echo "== creating $VENV" >&2
  python3 -m venv "$VENV" ||
    die "python3 -m venv failed (on Debian/Ubuntu install python3-venv); remove $VENV and retry"
fi
if ! "$PY" -c 'import duckdb' 2>/dev/null; then
  echo "== installing ${BENCH_DUCKDB:-duckdb} from PyPI into $VENV" >&2
  "$PY" -m pip install --quiet --disable-pip-version-check "${BENCH_DUCKDB:-duckdb}" ||
    die "pip could not install ${BENCH_DUCKDB:-duckdb}"
fi
DUCKDB_VERSION=$("$PY" -c 'import duckdb; print(duckdb.__version__)')

echo "== cargo build --release" >&2
cargo build --release --quiet
# A copy, so that a rebuild during the runs cannot swap the binary under them.
mkdir -p "$ROOT/target/bench-out"
cp "$ROOT/target/release/hotline" "$HOTLINE"
sed 's/^  decimals 2$/&\n  fingerprint none/' "$FIGURES" >"$UNHASHED"
grep -q '^  fingerprint none$' "$UNHASHED" || die "could not add \`fingerprint none\` to $FIGURES"

# ------------------------------------------------------------------ helpers

# The data folder for a size, generated when missing or made with other arguments.
data_dir() {
  local n=$1
  if [[ $n == data ]]; then
    echo "$BENCH_DATA"
    return
  fi
  local dir=$ROOT/target/bench-data/$n
  local args=(--rows "$n" --out "$dir" --month "$MONTH")
  [[ -n ${BENCH_SEED:-} ]] && args+=(--seed "$BENCH_SEED")
  # The marker: the arguments and the generator's source; either changing regenerates.
  local marker
  marker="${args[*]} $(sha256sum benches/generate.rs 2>/dev/null | cut -c1-16)"
  if [[ ! -f $dir/.generated || $(cat "$dir/.generated") != "$marker" ]]; then
    echo "== generating $n tickets into $dir" >&2
    rm -rf "$dir"
    mkdir -p "$dir"
    cargo run --release --quiet --example generate -- "${args[@]}" >&2 ||
      die "the generator failed (cargo run --release --example generate -- ${args[*]}); BENCH_DATA=DIR benchmarks an existing folder"
    [[ -f $dir/$MONTH/tickets.csv ]] || die "the generator wrote no $dir/$MONTH/tickets.csv"
    echo "$marker" >"$dir/.generated"
  fi
  echo "$dir"
}

# Runs a command under /usr/bin/time; prints "seconds peak_kb" and, with a third argument,
# appends the command's standard output to that file.
measure() {
  local out=$1 stdout=$2
  shift 2
  local tfile
  tfile=$(mktemp)
  if ! /usr/bin/time -f '%e %M' -o "$tfile" "$@" >"$stdout"; then
    cat "$stdout" >&2
    rm -f "$tfile"
    die "failed: $*"
  fi
  tail -n 1 "$tfile" >"$out"
  rm -f "$tfile"
}

# "median (min–max)" of the numbers on standard input.
spread() {
  sort -g | awk '{ v[NR] = $1 } END {
    m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2
    if (NR == 1) printf "%.2f", m; else printf "%.2f (%.2f–%.2f)", m, v[1], v[NR] }'
}
median() { sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
max() { sort -g | tail -n 1; }
# Kilobytes as whole megabytes.
mb() { awk -v k="$1" 'BEGIN { printf "%.0f", k / 1024 }'; }

label() {
  awk -v n="$1" 'BEGIN {
    if (n % 1000000 == 0) printf "%dM", n / 1000000
    else if (n % 1000 == 0) printf "%dk", n / 1000
    else printf "%d", n }'
}

# Renders POLICY on DIR as JSON into OUT.json and checks it against DuckDB's figures from
# DIR's tickets.csv (the details in OUT.check); exits when they differ.
check_against_duckdb() {
  local policy=$1 dir=$2 out=$3
  "$HOTLINE" render "$policy" --data "$dir" --month "$MONTH" --format json -o "$out.json" ||
    die "hotline render $policy failed on $dir"
  "$PY" benches/duckdb_figures.py --tickets "$dir/$MONTH/tickets.csv" --policy "$policy" \
    --threads "$THREADS" --check "$out.json" >"$out.check" || {
    cat "$out.check"
    die "$policy and DuckDB disagree on $dir (details above, and in $out.check)"
  }
  head -n 1 "$out.check" >&2
}

# ------------------------------------------------------------------ the runs

ROWS_OUT=()
for n in "${SIZES[@]}"; do
  dir=$(data_dir "$n")
  tickets=$dir/$MONTH/tickets.csv
  out=$ROOT/target/bench-out/$n
  mkdir -p "$out"

  echo "== $n: checking hotline against DuckDB on $tickets" >&2
  check_against_duckdb "$POLICY" "$dir" "$out/hotline"
  check_against_duckdb "$FIGURES" "$dir" "$out/figures"
  check_against_duckdb "$UNHASHED" "$dir" "$out/unhashed"
  if [[ $n == data ]]; then
    n=$("$PY" -c 'import json, sys
print(next(v["value"] for v in json.load(open(sys.argv[1]))["values"] if v["name"] == "收件总量"))' \
      "$out/hotline.json" 2>/dev/null || echo "?")
  fi

  : >"$out/hotline.times"
  : >"$out/figures.times"
  : >"$out/unhashed.times"
  : >"$out/duckdb.times"
  : >"$out/duckdb.query"
  for ((i = 1; i <= RUNS; i++)); do
    echo "== $n: run $i/$RUNS" >&2
    measure "$out/t" "$out/report.md.stdout" \
      "$HOTLINE" render "$POLICY" --data "$dir" --month "$MONTH" -o "$out/report.md"
    cat "$out/t" >>"$out/hotline.times"
    measure "$out/t" "$out/report.md.stdout" \
      "$HOTLINE" render "$FIGURES" --data "$dir" --month "$MONTH" -o "$out/figures.md"
    cat "$out/t" >>"$out/figures.times"
    measure "$out/t" "$out/report.md.stdout" \
      "$HOTLINE" render "$UNHASHED" --data "$dir" --month "$MONTH" -o "$out/unhashed.md"
    cat "$out/t" >>"$out/unhashed.times"
    measure "$out/t" "$out/duckdb.stdout" \
      "$PY" benches/duckdb_figures.py --tickets "$tickets" --policy "$POLICY" --threads "$THREADS"
    cat "$out/t" >>"$out/duckdb.times"
    awk '$1 == "query_seconds" { print $2 }' "$out/duckdb.stdout" >>"$out/duckdb.query"
    echo "   hotline $(tail -n 1 "$out/hotline.times" | awk '{ printf "%ss %.0f MB", $1, $2 / 1024 }')," \
      "figures $(tail -n 1 "$out/figures.times" | awk '{ printf "%ss %.0f MB", $1, $2 / 1024 }')," \
      "no digests $(tail -n 1 "$out/unhashed.times" | awk '{ printf "%ss", $1 }')," \
      "DuckDB $(tail -n 1 "$out/duckdb.times" | awk '{ printf "%ss %.0f MB", $1, $2 / 1024 }')" \
      "(query $(tail -n 1 "$out/duckdb.query")s)" >&2
  done
  rm -f "$out/t" "$out/report.md.stdout" "$out/duckdb.stdout"

  size=$(stat -c %s "$tickets")
  h_time=$(cut -d' ' -f1 "$out/hotline.times" | spread)
  h_mem=$(cut -d' ' -f2 "$out/hotline.times" | max)
  f_time=$(cut -d' ' -f1 "$out/figures.times" | spread)
  f_mem=$(cut -d' ' -f2 "$out/figures.times" | max)
  f_med=$(cut -d' ' -f1 "$out/figures.times" | median)
  u_time=$(cut -d' ' -f1 "$out/unhashed.times" | spread)
  u_med=$(cut -d' ' -f1 "$out/unhashed.times" | median)
  d_time=$(cut -d' ' -f1 "$out/duckdb.times" | spread)
  d_mem=$(cut -d' ' -f2 "$out/duckdb.times" | max)
  d_query=$(spread <"$out/duckdb.query")
  h_med=$(cut -d' ' -f1 "$out/hotline.times" | median)
  d_med=$(cut -d' ' -f1 "$out/duckdb.times" | median)
  d_qmed=$(median <"$out/duckdb.query")
  ratios=$(awk -v h="$h_med" -v f="$f_med" -v u="$u_med" -v d="$d_med" -v q="$d_qmed" 'BEGIN {
    printf "%s | %s | %s | %s", (h > 0) ? sprintf("%.2f", d / h) : "—", (f > 0) ? sprintf("%.2f", d / f) : "—",
      (u > 0) ? sprintf("%.2f", d / u) : "—", (f > 0) ? sprintf("%.2f", q / f) : "—" }')
  ROWS_OUT+=("| $( [[ $n =~ ^[0-9]+$ ]] && label "$n" || echo "$n") | $(awk -v s="$size" 'BEGIN { printf "%.1f MB", s / 1e6 }') | $h_time | $(mb "$h_mem") | $f_time | $(mb "$f_mem") | $u_time | $d_time | $d_query | $(mb "$d_mem") | $ratios |")
done

# ------------------------------------------------------------------ the table

rev=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
[[ -n $(git status --porcelain --untracked-files=no 2>/dev/null) ]] && rev+="+changes"
cpu=$(awk -F': ' '/^model name/ { print $2; exit }' /proc/cpuinfo 2>/dev/null || true)
{
  echo "hotline $rev ($(rustc --version | cut -d' ' -f2)), DuckDB $DUCKDB_VERSION (Python package)," \
    "$THREADS threads each; ${cpu:-unknown CPU}, $(nproc) CPUs; $RUNS runs each, $(date -u +%Y-%m-%d)."
  echo
  echo "| tickets | tickets.csv | hotline report s | MB | hotline figures s | MB | no digests s | DuckDB s | DuckDB query s | DuckDB MB | DuckDB/report | DuckDB/figures | DuckDB/no digests | query/figures |"
  echo "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"
  printf '%s\n' "${ROWS_OUT[@]}"
  echo
  echo "Times are wall-clock seconds, median (min–max); MB is the largest peak RSS of the runs."
  echo "\"hotline report\" renders the whole Dong'e report (it also reads the previous month's"
  echo "tickets, as many again, the spot checks and the workbook); \"hotline figures\" renders"
  echo "benches/figures.policy, the five figures per unit from the one tickets.csv DuckDB reads,"
  echo "with the SHA-256 of that file for the footer; \"no digests\" is the same policy with"
  echo "\`fingerprint none\`: DuckDB's work (and checks of the declared columns it does not"
  echo "read). \"DuckDB s\" is the whole Python process, \"DuckDB query s\" the query alone; the"
  echo "last four columns are time ratios (above 1: hotline is faster)."
  echo "All gave the same figures for every unit (benches/duckdb_figures.py --check)."
} >"$RESULTS"
echo >&2
cat "$RESULTS"
echo >&2
echo "(written to ${RESULTS#"$ROOT"/})" >&2
