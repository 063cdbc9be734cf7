#!/usr/bin/env python3
"""Fails when an #include points from a lower layer to a higher one.

The layers, lowest first:

    core  <-  drivers  <-  gateway  <-  cli
                  sim (simulated devices) sits beside gateway: core and drivers only.

Inside gateway/ the stages are layers too, in the order of GATEWAY_STAGES (a stage may include the
ones listed before it, never after): the data path reads bottom-up, serial line to uplink, with the
wiring (gateway.cpp) on top. gateway/config.hpp is every stage's configuration and sits below them.
Inside drivers/ each driver's folder stands alone: it may include its own files, the shared helpers
(SHARED_DRIVER_HELPERS) and drivers/*.hpp, never another driver's folder.
Run by the test suite (ctest "layers"); prints every offending line, then exits 1.
"""
import pathlib
import re
import subprocess
import sys

GATEWAY_STAGES = ["security", "config", "store", "serial", "report", "uplink", "sparkplug", "bridge", "downlink", "fleet", "ops", "catalog",
                  "wiring"]
SHARED_DRIVER_HELPERS = ["framing", "text", "modbus"]  # modbus: what modbus-rtu and modbus-tcp share above framing
RANK = {"proto": -1, "core": 0, "drivers": 1, "sim": 2, "gateway": 3, "cli": 4}
INCLUDE = re.compile(r'^#include "([^"]+)"')


def layer_of(path):
    """(layer, gateway stage or None) of a source file or an included path; None if in no layer."""
    parts = path.split("/")
    if path.endswith(".pb.h"):
        return "proto", None
    if parts[0] in ("core", "drivers", "sim", "cli"):
        return parts[0], None
    if parts[0] == "gateway":
        if path in ("gateway/config.hpp", "gateway/config.cpp"):
            return "gateway", "config"
        if path in ("gateway/gateway.hpp", "gateway/gateway.cpp"):
            return "gateway", "wiring"
        if len(parts) >= 3:
            return "gateway", parts[1]
    return None, None


def problem(src, target):
    src_layer, src_stage = layer_of(src)
    to_layer, to_stage = layer_of(target)
    if src_layer == "gateway" and src_stage not in GATEWAY_STAGES:
        return f"gateway stage '{src_stage}' is not in GATEWAY_STAGES of scripts/check-layers.py"
    if to_layer is None:
        return f"includes {target}, which is in no layer (core, drivers, sim, gateway, cli, proto)"
    if to_layer == "proto":
        if RANK[src_layer] < RANK["gateway"]:
            return f"includes the generated {target}; only gateway/ and cli/ speak protobuf"
        return None
    if src_layer == "sim" and to_layer not in ("core", "drivers", "sim"):
        return f"sim/ includes {target}; the simulator builds on core/ and drivers/ only"
    if to_layer == "sim" and src_layer not in ("sim", "cli"):
        return f"{src_layer}/ includes the simulator ({target}); only cli/ may"
    if RANK[to_layer] > RANK[src_layer]:
        return f"{src_layer}/ includes {target}, a higher layer"
    if src_layer == "drivers" and to_layer == "drivers":
        src_folder = src.split("/")[1] if src.count("/") >= 2 else None
        to_folder = target.split("/")[1] if target.count("/") >= 2 else None
        if src_folder and to_folder and to_folder != src_folder and to_folder not in SHARED_DRIVER_HELPERS:
            return (f"drivers/{src_folder} includes another driver's file ({target}); "
                    "share code through drivers/framing, drivers/text or drivers/modbus")
    if src_layer == "gateway" and to_layer == "gateway":
        if to_stage not in GATEWAY_STAGES:
            return f"gateway stage '{to_stage}' is not in GATEWAY_STAGES of scripts/check-layers.py"
        if GATEWAY_STAGES.index(to_stage) > GATEWAY_STAGES.index(src_stage):
            return f"gateway/{src_stage} includes gateway/{to_stage} ({target}), a later stage"
    return None


def main():
    root = pathlib.Path(__file__).resolve().parent.parent
    files = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard", "--",
                            "core", "drivers", "sim", "gateway", "cli"],
                           cwd=root, check=True, capture_output=True, text=True).stdout.split()
    failures = 0
    for name in files:
        if not name.endswith((".cpp", ".hpp")) or not (root / name).exists():
            continue
        for number, line in enumerate((root / name).read_text().splitlines(), 1):
            m = INCLUDE.match(line)
            if m and (why := problem(name, m.group(1))):
                print(f"{name}:{number}: {why}", file=sys.stderr)
                failures += 1
    if failures:
        print(f"layers: {failures} include(s) point up", file=sys.stderr)
        return 1
    print("layers: every include points down (core <- drivers <- gateway <- cli)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
