#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, builds with -Wall -Wextra -Werror,
# runs unit and integration tests, runs them all again under AddressSanitizer and
# UndefinedBehaviorSanitizer, then gives every libFuzzer target a short smoke run.
#
# What is independent runs at the same time: ctest runs TEST_JOBS tests at once (every test has its
# own ports, directories and pty links: tests/integration/harness.py), the asan flavour (the tests
# and the fuzz targets, instrumented, in one tree) builds at low priority while the release tests run
# (they mostly wait on events), and the fuzz targets run two at a time beside the ASan suite, on the
# CPU time its tests leave. A failing fuzz target fails the suite.
# Durations and their conditions: README.md, Development.
#
# scripts/test.sh --quick: the inner loop while working. The release build, the unit, driver and
# interop tests, the layer and docs checks and a few end-to-end smoke tests on real parts (a line
# sensor, a Modbus slave, an NMEA talker, the broker); no sanitizers, no fuzzing.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_SECONDS=${FUZZ_SECONDS:-20}
# Integration tests spend most of their time awaiting events, so twice the cores keeps them busy.
TEST_JOBS=${TEST_JOBS:-$(( $(nproc) * 2 ))}
FUZZ_JOBS=${FUZZ_JOBS:-2}

if [ "${1:-}" = --quick ]; then
  scripts/install-deps.sh
  scripts/build.sh release
  ctest --test-dir build/release --output-on-failure --timeout 300 -j "$TEST_JOBS" \
    -R '^(unit:|driver:|interop:|layers$|integration: test_(end_to_end|modbus_gateway|nmea_pty|docs_yaml|catch_names|layer_rules|check_config)$)'
  echo "== quick tests passed (the whole suite: scripts/test.sh)"
  exit 0
elif [ $# -gt 0 ]; then
  echo "usage: $0 [--quick]" >&2
  exit 2
fi

# Flavours built in the background while tests run, one after the other: at the lowest priority, so
# the tests' timing is not starved, in a process group of their own (ended with the script), each
# one's output in build/<flavour>.log, shown when it fails.
background_pid=
build_in_background() {
  mkdir -p build
  rm -f build/failed-flavour
  setsid nice -n 19 bash -c 'for f in "$@"; do scripts/build.sh "$f" >"build/$f.log" 2>&1 || { echo "$f" >build/failed-flavour; exit 1; }; done' \
    build_in_background "$@" &
  background_pid=$!
}
await_background_build() {
  if ! wait "$background_pid"; then
    local failed
    failed=$(cat build/failed-flavour 2>/dev/null || echo "a background")
    tail -n 100 "build/$failed.log" >&2 || true
    echo "the $failed build failed (whole log: build/$failed.log)" >&2
    exit 1
  fi
  background_pid=
  echo "== $* built (logs: build/<flavour>.log) $(elapsed)"
}
started=$(date +%s)
elapsed() { local s=$(( $(date +%s) - started )); printf '(at %d:%02d)' $((s / 60)) $((s % 60)); }
fuzz_pid=
trap '[ -z "$background_pid" ] || kill -- -"$background_pid" 2>/dev/null || true
      [ -z "$fuzz_pid" ] || kill -- -"$fuzz_pid" 2>/dev/null || true' EXIT

scripts/install-deps.sh

# Through the compiler cache, with paths relative to the tree: the system test (tests/system/) builds
# the package from the same sources with the same flags, which then costs no compilation.
if [ -z "${CMAKE_CXX_COMPILER_LAUNCHER:-}" ] && command -v ccache >/dev/null 2>&1; then
  export CMAKE_CXX_COMPILER_LAUNCHER=ccache CMAKE_C_COMPILER_LAUNCHER=ccache
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
fi

echo "== release build $(elapsed)"
scripts/build.sh release
echo "== release tests ($TEST_JOBS at a time; the asan build runs beside them) $(elapsed)"
build_in_background asan
ctest --test-dir build/release --output-on-failure --timeout 300 -j "$TEST_JOBS"

await_background_build asan

# One fuzz target's smoke run: its summary lines, printed in one piece; on a failure its log's end too.
fuzz_smoke() {
  local target=$1 name corpus log seeds status=0 out
  name=$(basename "$target")
  corpus=$(mktemp -d)
  log=$(mktemp)
  seeds=fuzz/corpus/${name#fuzz_}
  if [ -d "$seeds" ]; then cp -r "$seeds"/. "$corpus"/; fi
  "$target" -max_total_time="$FUZZ_SECONDS" -max_len=4096 -timeout=30 -print_final_stats=1 "$corpus" \
    >"$log" 2>&1 || status=$?
  out="-- $name"$'\n'$(grep -E 'stat::number_of_executed_units|==[0-9]+== ?ERROR|SUMMARY' "$log" || true)
  if [ "$status" -ne 0 ]; then out+=$'\n'$(tail -n 40 "$log")$'\n'"$name failed (exit $status)"; fi
  printf '%s\n' "$out"
  rm -rf "$corpus" "$log"
  return "$status"
}
export -f fuzz_smoke
export FUZZ_SECONDS
# The fuzz targets (built in the asan tree) run beside the ASan suite under SCHED_IDLE: they get only
# the CPU time no test wants, where a build beside the suite at nice 19 made instrumented servers lose
# races to their own deadlines (test_status_page_slow_requests held 0 connections; test_two_hops
# missed a catalog). Their output is shown after the suite's.
echo "== AddressSanitizer + UndefinedBehaviorSanitizer tests; beside them the fuzz smoke runs (${FUZZ_SECONDS}s each, $FUZZ_JOBS at a time) $(elapsed)"
find build/asan/fuzz -maxdepth 1 -type f -executable -name 'fuzz_*' -print0 | sort -z >build/fuzz-targets
[ -s build/fuzz-targets ] || { echo "no fuzz targets in build/asan/fuzz" >&2; exit 1; }
setsid chrt --idle 0 xargs -0 -r -n 1 -P "$FUZZ_JOBS" -a build/fuzz-targets bash -c 'fuzz_smoke "$1"' fuzz_smoke \
  >build/fuzz-smoke.log 2>&1 &
fuzz_pid=$!
# The release run's durations order the longest tests first here too (ctest starts costly ones first).
mkdir -p build/asan/Testing/Temporary
[ -f build/asan/Testing/Temporary/CTestCostData.txt ] ||
  cp build/release/Testing/Temporary/CTestCostData.txt build/asan/Testing/Temporary/ 2>/dev/null || true
asan_status=0
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp \
  ctest --test-dir build/asan --output-on-failure --timeout 600 -j "$TEST_JOBS" || asan_status=$?
echo "== fuzz smoke runs $(elapsed)"
fuzz_status=0
wait "$fuzz_pid" || fuzz_status=$?
fuzz_pid=
cat build/fuzz-smoke.log
[ "$asan_status" -eq 0 ] || { echo "the ASan+UBSan suite failed" >&2; exit 1; }
[ "$fuzz_status" -eq 0 ] || { echo "a fuzz target failed" >&2; exit 1; }
echo "== all tests passed $(elapsed)"
