#!/usr/bin/env bash
# Installs everything Loopgate needs to build, test and demo, from Debian's archive only.
# Idempotent and non-interactive: safe to run again; it only installs what is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config ninja-build
  libboost-dev libserialport-dev libpaho-mqttpp-dev libpaho-mqtt-dev
  libprotobuf-dev protobuf-compiler catch2
  mosquitto mosquitto-clients socat
  # a serial device server for the network port tests (tcp://, rfc2217://) and bench/network_poll.py
  ser2net
  libsqlite3-dev zlib1g-dev libyaml-cpp-dev libsystemd-dev libssl-dev libre2-dev
  python3 python3-pymodbus python3-serial python3-paho-mqtt python3-protobuf python3-cryptography
  python3-websocket
  # loopgate find parses the catalogs gateways publish (gateway/catalog/catalog_match.cpp)
  nlohmann-json3-dev
  # pymodbus 3.0's server module (the Modbus TCP server of the modbus-tcp tests) imports serial_asyncio
  python3-serial-asyncio
  # the status page's browser test (tests/integration/browser.py): headless, driven over DevTools
  chromium
  clang-14 libclang-rt-14-dev
  nodejs
  # the system test (tests/system/): a Debian root booted under systemd-nspawn, the .deb built by
  # scripts/package.sh (dpkg-dev, file) through the compiler cache
  debootstrap systemd-container dpkg-dev file ccache
)
# npm (the Sparkplug test installs Eclipse Tahu's decoder with it); a Node.js build that bundles npm needs no package.
command -v npm >/dev/null 2>&1 || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-deps: all ${#packages[@]} packages present"
  exit 0
fi

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
# The package starts a system broker on port 1883; Loopgate's tests and demo run their own.
if command -v systemctl >/dev/null 2>&1 && systemctl is-active --quiet mosquitto 2>/dev/null; then
  $SUDO systemctl disable --now mosquitto >/dev/null 2>&1 || true
fi
