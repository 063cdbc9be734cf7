#!/usr/bin/env bash
# The whole test suite, as CI runs it: installs what is missing, builds with -Wall -Wextra -Werror,
# runs unit and integration tests, runs them all again under AddressSanitizer and
# UndefinedBehaviorSanitizer, then gives every libFuzzer target a short smoke run.
#
# scripts/test.sh --quick: the inner loop while working. The release build, the unit and driver tests,
# the layer and docs checks and a few end-to-end smoke tests on real parts (a line sensor, a Modbus
# slave, an NMEA talker, the broker); no sanitizers, no fuzzing. A few minutes after a build.
set -euo pipefail
cd "$(dirname "$0")/.."
FUZZ_SECONDS=${FUZZ_SECONDS:-20}

if [ "${1:-}" = --quick ]; then
  scripts/install-deps.sh
  scripts/build.sh release
  ctest --test-dir build/release --output-on-failure --timeout 300 \
    -R '^(unit:|driver:|layers$|integration: test_(end_to_end|modbus_gateway|nmea_pty|docs_yaml|catch_names|layer_rules|check_config)$)'
  echo "== quick tests passed (the whole suite: scripts/test.sh)"
  exit 0
elif [ $# -gt 0 ]; then
  echo "usage: $0 [--quick]" >&2
  exit 2
fi

scripts/install-deps.sh

# Through the compiler cache, with paths relative to the tree: the system test (tests/system/) builds
# the package from the same sources with the same flags, which then costs no compilation.
if [ -z "${CMAKE_CXX_COMPILER_LAUNCHER:-}" ] && command -v ccache >/dev/null 2>&1; then
  export CMAKE_CXX_COMPILER_LAUNCHER=ccache CMAKE_C_COMPILER_LAUNCHER=ccache
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
fi

echo "== release build and tests"
scripts/build.sh release
ctest --test-dir build/release --output-on-failure --timeout 300

echo "== AddressSanitizer + UndefinedBehaviorSanitizer build and tests"
scripts/build.sh asan
ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
LSAN_OPTIONS=suppressions=$PWD/tests/lsan.supp \
  ctest --test-dir build/asan --output-on-failure --timeout 600

echo "== fuzz smoke runs (${FUZZ_SECONDS}s each)"
scripts/build.sh fuzz
for target in build/fuzz/fuzz/fuzz_*; do
  [ -x "$target" ] || continue
  name=$(basename "$target")
  corpus=$(mktemp -d)
  seeds=fuzz/corpus/${name#fuzz_}
  [ -d "$seeds" ] && cp -r "$seeds"/. "$corpus"/
  echo "-- $name"
  "$target" -max_total_time="$FUZZ_SECONDS" -max_len=4096 -timeout=30 -print_final_stats=1 "$corpus" 2>&1 | \
    grep -E 'stat::number_of_executed_units|ERROR|SUMMARY' || true
  status=${PIPESTATUS[0]}
  rm -rf "$corpus"
  if [ "$status" -ne 0 ]; then echo "$name failed" >&2; exit 1; fi
done
echo "== all tests passed"
