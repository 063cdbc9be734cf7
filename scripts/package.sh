#!/usr/bin/env bash
# Builds the Debian package of Loopgate: scripts/package.sh [amd64|arm64] [--no-tests]
#   amd64 (default, native): release build in build/pkg-amd64 with the test suite, runs the Catch2
#         unit and driver tests, `cpack -G DEB`, prints the .deb's path and inspects it. --no-tests
#         builds only what the package holds and runs no tests (the system test, tests/system/, packages
#         what the release build it runs from has already tested). With
#         VERIFY_INSTALL=1 (as root, on a machine where loopgate is not installed) it also installs
#         the package, checks the files, the user and `loopgate --version`, then purges it again.
#   arm64: hands over to scripts/cross-arm64.sh (Debian multiarch cross build, tests under qemu).
# Needs the build dependencies of scripts/install-deps.sh; installs dpkg-dev/fakeroot/file if missing.
set -euo pipefail
cd "$(dirname "$0")/.."
tests=ON
args=()
for a in "$@"; do
  case "$a" in
    --no-tests) tests=OFF ;;
    *) args+=("$a") ;;
  esac
done
arch=${args[0]:-amd64}
case "$arch" in
  amd64) ;;
  arm64) exec scripts/cross-arm64.sh ;;
  *) echo "usage: $0 [amd64|arm64] [--no-tests]" >&2; exit 2 ;;
esac
if [ "$(dpkg --print-architecture)" != amd64 ]; then
  echo "package.sh: amd64 packages are built natively on amd64" >&2; exit 2
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
# cpack's DEB generator uses dpkg-shlibdeps (dpkg-dev) and file(1).
need=()
for p in dpkg-dev file; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "package.sh: installing ${need[*]}"
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

build=build/pkg-$arch
jobs=${JOBS:-$(nproc)}
start=$(date +%s)
# With ccache, paths relative to the tree: a package build then reuses what build/release (or
# another tree at the same depth, as the system test's previous release) compiled with the same flags.
if [ -z "${CMAKE_CXX_COMPILER_LAUNCHER:-}" ] && command -v ccache >/dev/null 2>&1; then
  export CMAKE_CXX_COMPILER_LAUNCHER=ccache CMAKE_C_COMPILER_LAUNCHER=ccache
fi
if [ "${CMAKE_CXX_COMPILER_LAUNCHER:-}" = ccache ]; then
  export CCACHE_BASEDIR=${CCACHE_BASEDIR:-$PWD} CCACHE_NOHASHDIR=${CCACHE_NOHASHDIR:-1}
fi
# Warnings are errors here as in CI; LOOPGATE_WERROR=OFF builds a package despite a new compiler warning.
cmake -S . -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
  -DLOOPGATE_WERROR="${LOOPGATE_WERROR:-ON}" -DLOOPGATE_TESTS=$tests -DLOOPGATE_DEB_ARCH="$arch" >/dev/null
cmake --build "$build" -j "$jobs"
echo "package.sh: built in $(( $(date +%s) - start ))s"

# The Catch2 suites only: the integration tests need mosquitto/socat and are run by scripts/test.sh.
if [ "$tests" = ON ]; then
  "$build/tests/loopgate_unit_tests"
  "$build/tests/loopgate_driver_tests"
fi

(cd "$build" && cpack -G DEB >/dev/null)
deb=$(find "$build" -maxdepth 1 -name "loopgate_*_$arch.deb" -printf '%T@ %p\n' | sort -n | tail -1 | cut -d' ' -f2)
echo "package.sh: $deb ($(stat -c %s "$deb") bytes)"
dpkg-deb -I "$deb"
dpkg-deb -c "$deb"
# Nothing of the test suite or the fuzzers may be in the package.
if dpkg-deb -c "$deb" | grep -Ei 'test|fuzz|catch'; then
  echo "package.sh: test or fuzz files in the package" >&2; exit 1
fi

if [ "${VERIFY_INSTALL:-0}" = 1 ]; then
  if dpkg-query -W -f='${Status}' loopgate 2>/dev/null | grep -q "ok installed"; then
    echo "package.sh: loopgate is installed already; not touching it" >&2; exit 1
  fi
  $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "./$deb"
  trap '$SUDO dpkg --purge loopgate >/dev/null' EXIT
  /usr/bin/loopgate --version
  id loopgate
  id -nG loopgate | tr ' ' '\n' | grep -qx dialout
  stat -c '%U:%G %a %n' /var/lib/loopgate /etc/loopgate/loopgate.yaml /lib/systemd/system/loopgate.service
  dpkg-query -W -f='${Conffiles}\n' loopgate
  /usr/bin/loopgate check-config /etc/loopgate/loopgate.yaml
  systemd-analyze verify /lib/systemd/system/loopgate.service
  systemd-analyze security --offline=yes /lib/systemd/system/loopgate.service | tail -1
  ls -l /etc/systemd/system/multi-user.target.wants/loopgate.service
  $SUDO dpkg --purge loopgate
  trap - EXIT
  if getent passwd loopgate; then echo "package.sh: user loopgate left behind" >&2; exit 1; fi
  [ ! -e /var/lib/loopgate ] && [ ! -e /etc/loopgate ] &&
    [ ! -e /etc/systemd/system/multi-user.target.wants/loopgate.service ]
  echo "package.sh: install, files, user and purge verified"
fi
echo "$deb"
