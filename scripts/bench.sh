#!/usr/bin/env bash
# Loopgate benchmarks (docs/BENCHMARKS.md): decode cost per driver, end-to-end throughput, latency,
# backlog drain, memory with 32 ports, disk bytes per reading, instructions per reading (callgrind).
#
# Installs what is missing (scripts/install-deps.sh, plus valgrind), builds a Release tree with
# -DLOOPGATE_BENCH=ON in $BENCH_BUILD_DIR (default build-bench) and prints the machine, the conditions
# and every figure. Not part of scripts/test.sh: CI never runs it.
#
#   scripts/bench.sh                 # everything (~5 minutes on 2 cores, most of it callgrind)
#   BENCH_ONLY="decode latency" scripts/bench.sh   # a subset: decode report sparkplug fsync throughput latency backlog memory statuspage callgrind
#   BENCH_REPEAT=3 scripts/bench.sh  # end-to-end throughput runs per commit_interval (median is yours to take)
#
# Knobs: BENCH_READINGS (throughput, 600000), BENCH_BACKLOG (1000000), BENCH_CALLGRIND_READINGS (20000),
# BENCH_LATENCY_SECONDS (20). The build tree is kept for incremental reruns; remove it to reclaim the space.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=${BENCH_BUILD_DIR:-build-bench}
ONLY=${BENCH_ONLY:-"fsync decode report sparkplug throughput latency backlog memory statuspage callgrind"}
REPEAT=${BENCH_REPEAT:-1}
READINGS=${BENCH_READINGS:-600000}
BACKLOG=${BENCH_BACKLOG:-1000000}
CG_READINGS=${BENCH_CALLGRIND_READINGS:-20000}
LAT_SECONDS=${BENCH_LATENCY_SECONDS:-20}
want() { [[ " $ONLY " == *" $1 "* ]]; }

# --- dependencies (idempotent: only what is missing) -------------------------------------------
scripts/install-deps.sh
if ! command -v valgrind >/dev/null 2>&1; then
  SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends valgrind
fi

# --- build (Release) ------------------------------------------------------------------------------
cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DLOOPGATE_BENCH=ON -DLOOPGATE_TESTS=OFF >/dev/null
cmake --build "$BUILD" -j2 --target loopgate loopgate_decode_bench loopgate_sparkplug_bench loopgate_report_bench loopgate_wake_cost loopgate_live_values_bench lgbench_slow_fsync | tail -1

WORK=$(mktemp -d /tmp/lgbench.XXXXXX)
SHM=""
cleanup() {
  rm -rf "$WORK"
  [ -z "$SHM" ] || rm -rf "$SHM"
}
trap cleanup EXIT
protoc --python_out="$WORK" -I proto proto/loopgate.proto
# The gateway runs as a copy named lgbench-gw: a neighbour's `pkill loopgate` (other test runs on a shared
# machine) must not stop or reload the process being measured.
cp "$BUILD/loopgate" "$WORK/lgbench-gw"
export PYTHONPATH="$WORK" LOOPGATE_BIN="$WORK/lgbench-gw" LGBENCH_SLOW_FSYNC_LIB="$PWD/$BUILD/bench/liblgbench_slow_fsync.so"
PY=/usr/bin/python3  # Debian's python3, where python3-paho-mqtt and python3-protobuf live

# --- machine and conditions -------------------------------------------------------------------
disk_src=$(findmnt -n -o SOURCE --target /tmp 2>/dev/null || echo "?")
disk_dev=$(lsblk -n -o PKNAME "$disk_src" 2>/dev/null | head -1); [ -n "$disk_dev" ] || disk_dev=$(basename "$disk_src")
rota=$(cat "/sys/block/$disk_dev/queue/rotational" 2>/dev/null || echo "?")
echo "== machine"
echo "cpu:     $(lscpu | sed -n 's/^Model name:[[:space:]]*//p') ($(nproc) cores online)"
echo "memory:  $(awk '/MemTotal/ {printf "%.1f GiB", $2/1048576}' /proc/meminfo)"
echo "kernel:  $(uname -srm)"
echo "disk:    /tmp on $disk_src ($disk_dev, rotational=$rota$( [ -e /sys/block/$disk_dev/device/vendor ] || echo ", virtual" ))"
echo "tools:   $(mosquitto -h 2>/dev/null | head -1 | sed 's/ is an MQTT.*//'), $(valgrind --version), $(gcc --version | head -1)"
echo "build:   Release (-O3 -DNDEBUG), $BUILD, commit $(git rev-parse --short HEAD 2>/dev/null)$(git diff --quiet 2>/dev/null || echo ' + working tree changes')"
echo "config:  one line-driver port per pty (keyvalue, 2 fields: 'T=21.25 N=<n>'), batch max_readings 1000, max_delay 100ms,"
echo "         max_inflight 16, store WAL on /tmp synced by its own thread, QoS 1, mosquitto on 127.0.0.1 (persistence off)"
echo "load:    $(uptime | sed 's/.*load average/load average/')"
echo "costs:   $("$BUILD/bench/loopgate_wake_cost" | tr '\n' ' ')(µs of CPU: a system call, a timer re-arm, a cold wake by a timer, a wake by another thread)"

run() {  # scenario args... ; prints the scenario's result lines indented
  echo "-- $* (load $(cut -d' ' -f1-3 /proc/loadavg))"
  "$PY" bench/e2e.py "$@" --out-dir "$WORK" | sed 's/^/   /' || echo "   FAILED: $* (the reason is above; the other scenarios still run)"
}

if want fsync; then
  echo "== disk: append 4 KiB + fdatasync on /tmp (what each background sync of the store costs at least)"
  "$PY" bench/fsync_probe.py /tmp 300 | sed 's/^/   /'
fi

if want decode; then
  echo "== decode cost per driver (median of 7 runs after a warm-up; 4096-byte reads; load $(cut -d' ' -f1-3 /proc/loadavg))"
  "$BUILD/bench/loopgate_decode_bench" 7
fi

if want report; then
  echo "== report by exception: readings in and out on a recorded NMEA capture and a simulated meter (load $(cut -d' ' -f1-3 /proc/loadavg))"
  "$BUILD/bench/loopgate_report_bench" "$ROOT/../shared/fixtures"
fi

if want sparkplug; then
  echo "== Sparkplug publish path per stored batch (median of 7 runs after a warm-up; load $(cut -d' ' -f1-3 /proc/loadavg))"
  "$BUILD/bench/loopgate_sparkplug_bench" 7
fi

if want throughput; then
  echo "== end-to-end sustained throughput: $READINGS readings written as fast as the pty takes them"
  for ci in 0 1s; do
    for _ in $(seq "$REPEAT"); do run throughput --readings "$READINGS" --commit-interval "$ci" --timeout 120; done
    run throughput --readings "$READINGS" --commit-interval "$ci" --socat --timeout 120  # as the integration tests feed
  done
  echo "== the same on a slower disk: every fsync/fdatasync of the gateway made 5 ms and 20 ms longer"
  echo "   (bench/slow_fsync.cpp preloaded; an SD card's range; the figures no longer depend on this disk's mood)"
  for us in 5000 20000; do run throughput --readings "$READINGS" --commit-interval 0 --fsync-delay-us "$us" --timeout 120; done
  if [ -d /dev/shm ]; then
    echo "== diagnostic: the same with the store on tmpfs (/dev/shm: fsync is free), i.e. the CPU ceiling"
    SHM=$(mktemp -d /dev/shm/lgbench.XXXXXX)
    for _ in $(seq "$REPEAT"); do run throughput --readings "$READINGS" --commit-interval 0 --store-dir "$SHM" --timeout 120; rm -f "$SHM"/*; done
    rm -rf "$SHM"
  fi
fi

if want latency; then
  echo "== latency: last byte written -> reading held by the subscriber, 1000 readings/s for ${LAT_SECONDS}s"
  for ci in 0 1s; do run latency --rate 1000 --seconds "$LAT_SECONDS" --commit-interval "$ci"; done
  echo "== the same, default settings, every fsync 5 ms longer (bench/slow_fsync.cpp)"
  run latency --rate 1000 --seconds "$LAT_SECONDS" --commit-interval 0 --fsync-delay-us 5000
fi

if want backlog; then
  echo "== backlog: $BACKLOG readings while the broker is down, then the drain to the subscriber"
  run backlog --readings "$BACKLOG" --timeout 900
fi

if want memory; then
  echo "== memory: 32 ports, 20 readings/s each, 15 s; and 1 port for comparison"
  run memory --ports 32 --seconds 15
  run memory --ports 1 --seconds 15
fi

if want statuspage; then
  echo "== status page: 1000 readings/s, 5 pairs of 20 s phases, no page open vs a reader of its event stream"
  run statuspage --rate 1000 --seconds 20 --repeat 5
  echo "   with no page open, the data path's only extra work per reading (median of 7):"
  "$BUILD/bench/loopgate_live_values_bench" | sed 's/^/   /'
fi

if want callgrind; then
  echo "== instructions per reading: $CG_READINGS readings under valgrind --tool=callgrind (counters zeroed after READY)"
  run callgrind --readings "$CG_READINGS" --timeout 600
  out="$WORK/callgrind.out"
  total=$(callgrind_annotate "$out" 2>/dev/null | awk '/PROGRAM TOTALS/ {gsub(",", "", $1); print $1; exit}')
  echo "   Ir_total $total"
  echo "   Ir_per_reading $((total / CG_READINGS))"
  echo "   top 10 functions by inclusive Ir (the frames that enclose the whole run - libc start, main,"
  echo "   commands::run, run_gateway, the asio scheduler loop, thread starts - are left out):"
  callgrind_annotate --inclusive=yes "$out" 2>/dev/null | \
    awk '/file:function/ {go=1; next} go && NF {print}' | \
    grep -vE '^-|libc-start|below main|ld-linux|:main \[|main\.cpp:main|commands::run\(|run_gateway|scheduler::run|scheduler::do_run_one|clone3?\.S|start_thread|PROGRAM TOTALS' | \
    awk '{k=$0; sub(/^ *[0-9,]+ \([0-9.]+%\) +/, "", k); sub(/ \[[^]]*\]$/, "", k); k=substr(k, index(k, ":") + 1);
          if (!(k in seen)) { seen[k] = 1; print; if (++n == 10) exit }}' | \
    sed -E 's/^/     /; s/\(anonymous namespace\)/(anon)/g' | cut -c1-220 || true  # head/exit closes the pipe early
  echo "   top 15 functions by exclusive (self) Ir (same frames left out):"
  callgrind_annotate --inclusive=no --threshold=100 --auto=no "$out" 2>/dev/null | \
    awk '/file:function/ {go=1; next} go && NF && !/^-/' | \
    grep -vE 'libc-start|below main|ld-linux|:main \[|commands::run\(|run_gateway|PROGRAM TOTALS' | head -15 | \
    sed -E 's/^/     /; s/\(anonymous namespace\)/(anon)/g' | cut -c1-220 || true
fi
echo "== done (load $(cut -d' ' -f1-3 /proc/loadavg))"
