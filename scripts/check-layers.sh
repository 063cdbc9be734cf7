#!/usr/bin/env bash
# Fails when an #include points from a lower layer to a higher one. The layers, lowest first:
#
#   core  <-  drivers  <-  gateway  <-  cli
#                  sim (simulated devices) sits beside gateway: core and drivers only.
#
# Inside gateway/ the stages are layers too, in the order of this table (a stage may include the
# ones listed before it, never after): the data path reads bottom-up, serial line to uplink, and the
# wiring (gateway.cpp) on top. gateway/config.hpp is every stage's configuration and sits below them.
# Inside drivers/ each driver's folder stands alone: it may include the shared helpers (framing, text)
# and drivers/*.hpp, never another driver's folder.
# Run by the test suite (ctest "layers"); prints every offending line, then exits 1.
set -uo pipefail
cd "$(dirname "$0")/.."

gateway_stages=(security config store serial uplink sparkplug bridge downlink ops wiring)

# The layer of a source file or an included path: prints "<rank> <name>".
layer_of() {
  local path=$1
  case $path in
    core/*) echo "0 core" ;;
    drivers/*) echo "1 drivers" ;;
    sim/*) echo "2 sim" ;;
    gateway/config.hpp | gateway/config.cpp) echo "3 gateway/config" ;;
    gateway/gateway.hpp | gateway/gateway.cpp) echo "3 gateway/wiring" ;;
    gateway/*/*) echo "3 gateway/$(cut -d/ -f2 <<<"$path")" ;;
    cli/*) echo "4 cli" ;;
    *.pb.h) echo "-1 proto" ;;
    *) echo "? unknown" ;;
  esac
}

# Folders under drivers/ that every driver may include; any other folder is one driver's own.
shared_driver_helpers=(framing text)

# drivers/<folder>/... -> <folder>; nothing for files directly in drivers/ (driver.hpp, registry...).
driver_folder() {
  case $1 in
    drivers/*/*) cut -d/ -f2 <<<"$1" ;;
  esac
}

stage_rank() {
  local i
  for i in "${!gateway_stages[@]}"; do
    [ "${gateway_stages[$i]}" = "$1" ] && { echo "$i"; return; }
  done
  echo ""
}

status=0
while IFS= read -r file; do
  read -r from_rank from_name <<<"$(layer_of "$file")"
  [ "$from_rank" = "?" ] && continue
  while IFS=: read -r line inc; do
    target=$(sed -E 's/^#include "([^"]+)".*/\1/' <<<"$inc")
    read -r to_rank to_name <<<"$(layer_of "$target")"
    bad=""
    if [ "$to_rank" = "?" ]; then
      bad="includes $target, which is in no layer (core, drivers, sim, gateway, cli, proto)"
    elif [ "$to_rank" = "-1" ]; then
      # Generated protobuf headers: for the gateway and the command line, not for core or drivers.
      [ "$from_rank" -lt 3 ] && bad="includes the generated $target; only gateway/ and cli/ speak protobuf"
    elif [ "$from_name" = sim ] && [ "$to_rank" -ge 2 ] && [ "$to_name" != sim ]; then
      bad="sim/ includes $to_name ($target)"
    elif [ "$from_name" != sim ] && [ "$to_name" = sim ] && [ "$from_name" != cli ]; then
      bad="$from_name includes the simulator ($target); only cli/ may"
    elif [ "$to_rank" -gt "$from_rank" ]; then
      bad="$from_name includes $to_name ($target), a higher layer"
    elif [ "$from_name" = drivers ] && [ "$to_name" = drivers ]; then
      # A driver's folder sees its own files, the shared helpers and drivers/*.hpp; not another driver.
      from_folder=$(driver_folder "$file")
      to_folder=$(driver_folder "$target")
      if [ -n "$from_folder" ] && [ -n "$to_folder" ] && [ "$to_folder" != "$from_folder" ] &&
         [[ " ${shared_driver_helpers[*]} " != *" $to_folder "* ]]; then
        bad="drivers/$from_folder includes another driver's file ($target); share code through drivers/framing or drivers/text"
      fi
    elif [ "$from_rank" = 3 ] && [ "$to_rank" = 3 ]; then
      from_stage=${from_name#gateway/}
      to_stage=${to_name#gateway/}
      fi_=$(stage_rank "$from_stage")
      ti_=$(stage_rank "$to_stage")
      if [ -z "$fi_" ] || [ -z "$ti_" ]; then
        bad="gateway stage '${fi_:+$to_stage}${fi_:-$from_stage}' is not in scripts/check-layers.sh's table"
      elif [ "$ti_" -gt "$fi_" ]; then
        bad="gateway/$from_stage includes gateway/$to_stage ($target), a later stage"
      fi
    fi
    if [ -n "$bad" ]; then
      echo "$file:$line: $bad" >&2
      status=1
    fi
  done < <(grep -n '^#include "' "$file")
done < <(git ls-files --cached --others --exclude-standard -- core drivers sim gateway cli | grep -E '\.(c|h)pp$')

[ "$status" = 0 ] && echo "layers: every include points down (core <- drivers <- gateway <- cli)"
exit "$status"
