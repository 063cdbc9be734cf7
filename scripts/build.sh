#!/usr/bin/env bash
# Configures and builds one flavour of Loopgate: release (default), asan or fuzz, in build/<flavour>.
set -euo pipefail
cd "$(dirname "$0")/.."
flavour=${1:-release}
case "$flavour" in
  release) args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo) ;;
  asan)    args=(-DCMAKE_BUILD_TYPE=Debug -DLOOPGATE_SANITIZE=ON) ;;
  fuzz)    args=(-DCMAKE_BUILD_TYPE=RelWithDebInfo -DLOOPGATE_FUZZ=ON -DLOOPGATE_TESTS=OFF
                 -DCMAKE_CXX_COMPILER=clang++-14) ;;
  *) echo "usage: $0 [release|asan|fuzz]" >&2; exit 2 ;;
esac
# Precompiled headers save CPU on a fresh build, but not under ccache: it hashes the .gch into the key
# of every file using it, and GCC writes a different .gch each time (even in the same directory), so
# those files would miss the cache after every fresh configure.
# LOOPGATE_PCH=ON|OFF overrides (.ci/run: a clean clone, an empty cache, so precompiled headers win).
if [ -n "${LOOPGATE_PCH:-}" ]; then
  args+=(-DLOOPGATE_PCH="$LOOPGATE_PCH")
else
  case "${CMAKE_CXX_COMPILER_LAUNCHER:-}" in
    *ccache*) args+=(-DLOOPGATE_PCH=OFF) ;;
    *)        args+=(-DLOOPGATE_PCH=ON) ;;
  esac
fi
cmake -S . -B "build/$flavour" -G Ninja -DLOOPGATE_WERROR=ON "${args[@]}" >/dev/null
target=()
[ "$flavour" = fuzz ] && target=(--target fuzz_all)
cmake --build "build/$flavour" -j "$(nproc)" "${target[@]}"
