#!/usr/bin/python3
"""The gateway's CPU per polled reading: the same Modbus poll over `modbus-tcp` (pymodbus's Modbus
TCP server on 127.0.0.1) and over `modbus-rtu` on a socat pty pair (pymodbus's RTU slave at
19200 baud, answering as bytes arrive), in alternating phases so the machine's load falls on both.

Each phase polls unit 1's 10 holding registers (one request) every --interval ms for --seconds and
counts the gateway's utime + stime (/proc/<pid>/stat) over the readings the subscriber received.
Prints `KEY value` lines: cpu_us_per_reading_tcp / _pty (median of the rounds), readings_per_s_*.

Needs the tcp:// transport (issue 30, item 1). The drivers' own share, without I/O, is
bench/modbus_poll_bench.cpp's.

Run: LOOPGATE_BIN=build/release/loopgate PYTHONPATH=tests/integration:build/release/proto_py \\
     /usr/bin/python3 bench/modbus_tcp_cpu.py [--seconds 20] [--rounds 3] [--interval 20]
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "tests", "integration"))
import harness  # noqa: E402

CLK_TCK = os.sysconf("SC_CLK_TCK")
HERE = os.path.dirname(os.path.abspath(__file__))
REGISTERS = [{"unit": 1, "table": "holding", "address": a, "type": "uint16", "value": 1000 + a} for a in range(10)]
POINTS = "\n".join(f"          - {{name: r{a}, table: holding, address: {a}, type: uint16}}" for a in range(10))


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def phase(kind, seconds, interval):
    d = harness.workdir(f"bench-mbtcp-{kind}")
    broker = harness.Mosquitto(harness.free_port(), d).start()
    sub = harness.Subscriber(broker.port)
    cleanup = []
    if kind == "tcp":
        port = harness.free_port()
        table = os.path.join(d, "table.json")
        with open(table, "w") as f:
            json.dump(REGISTERS, f)
        server = harness.spawn(["/usr/bin/python3", os.path.join(HERE, "..", "tests", "integration", "modbus_tcp_server.py"),
                                str(port), table], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        harness.wait_until(lambda: harness.listening(port), 20, "the Modbus TCP server")
        cleanup.append(server.kill)
        path = f"tcp://127.0.0.1:{port}"
        port_yaml = f"""  - name: bus
    path: {path}
    driver: modbus-tcp
    settings: {{response_timeout: 500ms}}"""
    else:
        pty = harness.PtyPair(d, f"bench-{os.getpid()}")
        harness.modbus_slave(d, pty.sensor_end, REGISTERS, baud=19200, responsive=True)
        cleanup.append(pty.close)
        port_yaml = f"""  - name: bus
    path: {pty.gateway_end}
    baud: 19200
    driver: modbus-rtu
    settings: {{response_timeout: 500ms}}"""
    cfg = harness.write_config(d, broker.port, port_yaml + f"""
    devices:
      - name: meter
        unit: 1
        poll_interval: {interval}ms
        points:
{POINTS}
""")
    gw = harness.Gateway(cfg, d).start()
    try:
        sub.wait_for(lambda s: len(s.readings()) >= 20, 30, "the first readings")
        n0, c0 = len(sub.readings()), cpu_seconds(gw.proc.pid)
        t0 = time.monotonic()
        time.sleep(seconds)
        n1, c1 = len(sub.readings()), cpu_seconds(gw.proc.pid)
        elapsed = time.monotonic() - t0
    finally:
        gw.stop()
        for c in cleanup:
            c()
        sub.close()
        broker.stop()
    readings = n1 - n0
    return (c1 - c0) * 1e6 / max(readings, 1), readings / elapsed


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--interval", type=int, default=20)
    a = ap.parse_args()
    results = {"tcp": [], "pty": []}
    for r in range(a.rounds):
        for kind in ("tcp", "pty") if r % 2 == 0 else ("pty", "tcp"):
            us, rate = phase(kind, a.seconds, a.interval)
            results[kind].append((us, rate))
            print(f"round {r} {kind}: {us:.1f} us CPU per reading at {rate:.0f} readings/s", flush=True)
    for kind, rows in results.items():
        print(f"cpu_us_per_reading_{kind} {statistics.median(u for u, _ in rows):.1f}")
        print(f"readings_per_s_{kind} {statistics.median(r for _, r in rows):.0f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
