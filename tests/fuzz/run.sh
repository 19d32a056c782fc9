#!/usr/bin/env bash
# Runs the JOSE fuzz target for SECONDS on a scratch copy of the seed corpus.
# usage: tests/fuzz/run.sh BUILD_DIR [SECONDS]
# Exits non-zero when libFuzzer finds a crash, a leak or a sanitizer report;
# the reproducer is kept in BUILD_DIR/fuzz-artifacts/.
set -euo pipefail

build_dir=${1:?usage: run.sh BUILD_DIR [SECONDS]}
seconds=${2:-60}
here=$(cd "$(dirname "$0")" && pwd)
target="$build_dir/tests/fuzz/fuzz_jose"
[ -x "$target" ] || { echo "fuzz: $target not built" >&2; exit 1; }

work=$(mktemp -d "${TMPDIR:-/tmp}/jwtgate-fuzz.XXXXXX")
trap 'rm -rf "$work"' EXIT
cp -r "$here/corpus" "$work/corpus"
artifacts="$(cd "$build_dir" && pwd)/fuzz-artifacts"
mkdir -p "$artifacts"

echo "fuzz: fuzz_jose for ${seconds}s on $(ls "$work/corpus" | wc -l) seeds"
set +e
"$target" "$work/corpus" \
  -max_total_time="$seconds" -max_len=20000 -timeout=10 -rss_limit_mb=2048 \
  -print_final_stats=1 -artifact_prefix="$artifacts/" 2>"$work/log"
status=$?
set -e
grep -E "^(Done|stat::number_of_executed_units|stat::average_exec_per_sec|stat::new_units_added|stat::peak_rss_mb)" \
  "$work/log" || true
if [ $status -ne 0 ]; then
  tail -n 60 "$work/log" >&2
  echo "fuzz: FAILED (exit $status); reproducer in $artifacts" >&2
  exit $status
fi
echo "fuzz: ok"
