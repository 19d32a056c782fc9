#!/usr/bin/env bash
# Runs the fuzz targets on scratch copies of their seed corpora: fuzz_jose
# (the JOSE core) for SECONDS, fuzz_http (the proxy's HTTP head parsing) and
# fuzz_config (the YAML configuration loader) for half as long each,
# fuzz_revocation (revocation entries, journal records, logout forms) and
# fuzz_cors (CORS origin parsing and matching) for a quarter each, fuzz_h2
# (the HTTP/2 server codec) for half.
# usage: tests/fuzz/run.sh BUILD_DIR [SECONDS [LANES]]
# LANES (default 1) targets run at once, each one libFuzzer process on one
# core: the same fuzzing time per target in less wall time on several cores.
# Exits non-zero when libFuzzer finds a crash, a leak or a sanitizer report;
# the reproducer is kept in BUILD_DIR/fuzz-artifacts/.
set -euo pipefail

build_dir=${1:?usage: run.sh BUILD_DIR [SECONDS [LANES]]}
seconds=${2:-60}
lanes=${3:-1}
here=$(cd "$(dirname "$0")" && pwd)
artifacts="$(cd "$build_dir" && pwd)/fuzz-artifacts"
mkdir -p "$artifacts"
work=$(mktemp -d "${TMPDIR:-/tmp}/jwtgate-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT

# run_target NAME CORPUS_DIR SECONDS
run_target() {
  local name=$1 corpus=$2 secs=$3
  local target="$build_dir/tests/fuzz/$name"
  [ -x "$target" ] || { echo "fuzz: $target not built" >&2; exit 1; }
  cp -r "$corpus" "$work/$name-corpus"
  echo "fuzz: $name for ${secs}s on $(ls "$work/$name-corpus" | wc -l) seeds"
  set +e
  "$target" "$work/$name-corpus" \
    -max_total_time="$secs" -max_len=20000 -timeout=10 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" 2>"$work/$name.log"
  local status=$?
  set -e
  grep -E "^(Done|stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added|stat::peak_rss_mb)" \
    "$work/$name.log" || true
  if [ $status -ne 0 ]; then
    tail -n 60 "$work/$name.log" >&2
    echo "fuzz: $name FAILED (exit $status); reproducer in $artifacts" >&2
    exit $status
  fi
}

half=$(( (seconds + 1) / 2 ))
quarter=$(( (seconds + 3) / 4 ))
if [ "$lanes" -le 1 ]; then
  run_target fuzz_jose "$here/corpus/jose" "$seconds"
  run_target fuzz_http "$here/corpus/http" "$half"
  run_target fuzz_config "$here/corpus/config" "$half"
  run_target fuzz_revocation "$here/corpus/revocation" "$quarter"
  run_target fuzz_cors "$here/corpus/cors" "$quarter"
  run_target fuzz_h2 "$here/corpus/h2" "$half"
else
  # Two lanes of equal length (one and a half times SECONDS each).
  ( run_target fuzz_jose "$here/corpus/jose" "$seconds"
    run_target fuzz_h2 "$here/corpus/h2" "$half" ) > "$work/lane1.out" 2>&1 &
  lane1=$!
  ( run_target fuzz_http "$here/corpus/http" "$half"
    run_target fuzz_config "$here/corpus/config" "$half"
    run_target fuzz_revocation "$here/corpus/revocation" "$quarter"
    run_target fuzz_cors "$here/corpus/cors" "$quarter" ) > "$work/lane2.out" 2>&1 &
  lane2=$!
  failed=0
  wait "$lane1" || failed=$?
  cat "$work/lane1.out"
  wait "$lane2" || failed=$?
  cat "$work/lane2.out"
  [ "$failed" -eq 0 ] || exit "$failed"
fi
echo "fuzz: ok"
