#!/usr/bin/env bash
# Cross-builds Loopgate for arm64 (Raspberry Pi 3/4/5, 64-bit OS) on an amd64 Debian 12 machine with
# Debian multiarch, runs the Catch2 unit and driver tests under qemu-user, and builds the .deb.
#   scripts/cross-arm64.sh            -> build/cross-arm64/loopgate_<version>-1_arm64.deb
# Idempotent: installs (as root or through sudo) only what is missing. JOBS=N overrides -j.
#
# Note on the machine it runs on: arm64 packages that are Multi-Arch: same must have exactly the
# version of their amd64 twin, so apt may upgrade some amd64 libraries (libssl3, libsystemd0, ...)
# to the current point release along the way. libyaml-cpp-dev cannot be co-installed for two
# architectures (it is not Multi-Arch: same), so its arm64 files are unpacked into the build tree
# instead of replacing the amd64 one the native build needs.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$PWD
build=build/cross-arm64
jobs=${JOBS:-$(nproc)}
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive

if [ "$(dpkg --print-architecture)" != amd64 ]; then
  echo "cross-arm64.sh: expects an amd64 build machine" >&2; exit 2
fi

# --- 1. toolchain and arm64 libraries -------------------------------------------------------------
host_pkgs=(crossbuild-essential-arm64 qemu-user-static protobuf-compiler catch2 cmake ninja-build
           pkg-config dpkg-dev file)
arm64_pkgs=(libboost-dev libserialport-dev libpaho-mqttpp-dev libpaho-mqtt-dev libprotobuf-dev
            libsqlite3-dev zlib1g-dev libsystemd-dev libssl-dev libre2-dev libyaml-cpp0.7)
installed() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

updated=0
if ! dpkg --print-foreign-architectures | grep -qx arm64; then
  echo "cross-arm64.sh: dpkg --add-architecture arm64"
  $SUDO dpkg --add-architecture arm64
  $SUDO apt-get update -qq
  updated=1
fi
missing=()
for p in "${host_pkgs[@]}"; do installed "$p:amd64" || installed "$p" || missing+=("$p"); done
for p in "${arm64_pkgs[@]}"; do installed "$p:arm64" || missing+=("$p:arm64"); done
if [ ${#missing[@]} -gt 0 ]; then
  echo "cross-arm64.sh: installing ${missing[*]}"
  [ $updated = 1 ] || $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

# libyaml-cpp-dev:arm64, unpacked beside the build (see the note at the top).
ydev=$root/$build/deps/yaml-cpp
if [ ! -f "$ydev/usr/lib/aarch64-linux-gnu/cmake/yaml-cpp/yaml-cpp-config.cmake" ]; then
  mkdir -p "$ydev" "$build/deps/debs"
  ver=$(dpkg-query -W -f='${Version}' libyaml-cpp0.7:arm64)
  (cd "$build/deps/debs" && apt-get download -q "libyaml-cpp-dev:arm64=$ver") 2>&1 |
    grep -v '^W: Download is performed unsandboxed' || true
  dpkg-deb -x "$build"/deps/debs/libyaml-cpp-dev_*_arm64.deb "$ydev"
  # The imported target names the versioned library, which the runtime package installed.
  ln -sf /usr/lib/aarch64-linux-gnu/libyaml-cpp.so.0.7.0 "$ydev/usr/lib/aarch64-linux-gnu/libyaml-cpp.so.0.7.0"
fi

# --- 2. configure and build -----------------------------------------------------------------------
start=$(date +%s)
# Warnings are errors here as in CI; LOOPGATE_WERROR=OFF builds a package despite a new compiler warning.
cmake -S . -B "$build" -G Ninja --toolchain "$root/deploy/cmake/aarch64-linux-gnu.cmake" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_INSTALL_PREFIX=/usr \
  -DLOOPGATE_WERROR="${LOOPGATE_WERROR:-ON}" -DLOOPGATE_TESTS=ON -DLOOPGATE_DEB_ARCH=arm64 \
  -DProtobuf_PROTOC_EXECUTABLE=/usr/bin/protoc \
  -Dyaml-cpp_DIR="$ydev/usr/lib/aarch64-linux-gnu/cmake/yaml-cpp" >/dev/null
# The generator must be the host's protoc, not an arm64 one.
if ! grep -q '/usr/bin/protoc --cpp_out' "$build/build.ninja"; then
  echo "cross-arm64.sh: protobuf::protoc does not point at the host's /usr/bin/protoc" >&2; exit 1
fi
cmake --build "$build" -j "$jobs"
echo "cross-arm64.sh: built in $(( $(date +%s) - start ))s"
file -L "$build/loopgate" | grep -q 'ARM aarch64' || { echo "cross-arm64.sh: not an arm64 binary" >&2; exit 1; }
qemu-aarch64-static "$build/loopgate" --version

# --- 3. unit and driver tests under qemu (the integration tests need amd64 mosquitto/socat) ---------
start=$(date +%s)
(cd "$build" && ctest -LE integration -j "$jobs" --output-on-failure)
echo "cross-arm64.sh: tests under qemu in $(( $(date +%s) - start ))s"

# --- 4. the package -------------------------------------------------------------------------------
# dpkg-shlibdeps can compute Depends for arm64 from the multiarch packages' shlibs/symbols files when
# told the host architecture; without that, the CMakeLists' hand-written list is used.
if (cd "$build" && DEB_HOST_ARCH=arm64 DEB_HOST_MULTIARCH=aarch64-linux-gnu \
      DEB_HOST_GNU_TYPE=aarch64-linux-gnu cpack -G DEB -D CPACK_DEBIAN_PACKAGE_SHLIBDEPS=ON \
      -D "CPACK_DEBIAN_PACKAGE_DEPENDS=adduser, init-system-helpers (>= 1.54~)" >cpack.log 2>&1); then
  echo "cross-arm64.sh: Depends computed by dpkg-shlibdeps"
else
  echo "cross-arm64.sh: dpkg-shlibdeps failed (see $build/cpack.log); using the hand-written Depends"
  (cd "$build" && cpack -G DEB -D CPACK_DEBIAN_PACKAGE_SHLIBDEPS=OFF >cpack.log 2>&1)
fi
deb=$(find "$build" -maxdepth 1 -name 'loopgate_*_arm64.deb' -printf '%T@ %p\n' | sort -n | tail -1 | cut -d' ' -f2)
dpkg-deb -I "$deb"
dpkg-deb -c "$deb"
if dpkg-deb -c "$deb" | grep -Ei 'test|fuzz|catch'; then
  echo "cross-arm64.sh: test or fuzz files in the package" >&2; exit 1
fi
echo "cross-arm64.sh: $deb ($(stat -c %s "$deb") bytes)"
echo "$deb"
