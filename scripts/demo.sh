#!/usr/bin/env bash
# The demo: a local mosquitto, simulated sensors on pseudo-terminals, the gateway, and `loopgate tail`
# printing the readings as they arrive at the broker. Ctrl-C stops everything. DEMO_SECONDS=N stops
# after N seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/install-deps.sh
scripts/build.sh release
bin=build/release/loopgate
work=/tmp/loopgate-demo
rm -rf "$work" && mkdir -p "$work/dev"

pids=()
cleanup() {
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

printf 'listener 18830 127.0.0.1\nallow_anonymous true\n' > "$work/mosquitto.conf"
mosquitto -c "$work/mosquitto.conf" >"$work/mosquitto.log" 2>&1 & pids+=($!)
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/18830) 2>/dev/null && break; sleep 0.1; done

nmea=()
capture=../shared/fixtures/nmea/bu353s4.log
[ -f "$capture" ] && "$bin" decode --driver nmea0183 </dev/null >/dev/null 2>&1 && nmea=(--nmea "gps=$capture")
"$bin" simulate --dir "$work/dev" --line weather --modbus meter=1 "${nmea[@]}" --interval 1000 >"$work/simulate.log" 2>&1 & pids+=($!)
for _ in $(seq 50); do [ -e "$work/dev/weather" ] && [ -e "$work/dev/meter" ] && break; sleep 0.1; done

config=deploy/demo.yaml
[ ${#nmea[@]} -gt 0 ] && config=deploy/demo-gps.yaml
"$bin" run --config "$config" 2>"$work/gateway.log" & pids+=($!)
echo "gateway running (log: $work/gateway.log); readings as they reach the broker:"
if [ -n "${DEMO_SECONDS:-}" ]; then
  "$bin" tail --broker tcp://127.0.0.1:18830 --timeout "$DEMO_SECONDS"
else
  "$bin" tail --broker tcp://127.0.0.1:18830
fi
