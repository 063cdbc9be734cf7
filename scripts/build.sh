#!/usr/bin/env bash
# Configures and builds one flavour of Loopgate: release (default, GCC, as the package is built), asan
# (clang: the sanitizer suite and the fuzz targets) or fuzz (clang, libFuzzer only), in build/<flavour>.
set -euo pipefail
cd "$(dirname "$0")/.."
flavour=${1:-release}
case "$flavour" in
  release) args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  # The tests and the fuzz targets, ASan+UBSan at -O0, in one tree (scripts/test.sh runs both from
  # it). clang compiles it in half the CPU time GCC takes (430 against 800 CPU seconds here), and CI
  # then hears a second compiler's warnings as errors too.
  asan)    args=(-DCMAKE_BUILD_TYPE=Debug -DLOOPGATE_SANITIZE=ON -DLOOPGATE_FUZZ=ON -DCMAKE_CXX_COMPILER=clang++-14) ;;
  # The fuzz targets alone at -O2, several times faster per input: for fuzzing sessions of hours.
  fuzz)    args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOOPGATE_FUZZ=ON -DLOOPGATE_TESTS=OFF
                 -DCMAKE_CXX_COMPILER=clang++-14) ;;
  *) echo "usage: $0 [release|asan|fuzz]" >&2; exit 2 ;;
esac
# LOOPGATE_PCH=ON precompiles Catch2's header for the test binaries (off by default: tests/CMakeLists.txt).
args+=(-DLOOPGATE_PCH="${LOOPGATE_PCH:-OFF}")
cmake -S . -B "build/$flavour" -G Ninja -DLOOPGATE_WERROR=ON "${args[@]}" >/dev/null
target=()
[ "$flavour" = fuzz ] && target=(--target fuzz_all)
cmake --build "build/$flavour" -j "$(nproc)" "${target[@]}"
