#!/usr/bin/python3
"""CPU per polled reading over a network port against the same poll over a pty (issue 30, item 6).

Real parts: mosquitto on 127.0.0.1, the loopgate binary, a socat pty pair with the pymodbus RTU slave
(tests/integration/modbus_slave.py --responsive, unit 1, ten holding registers) on one end, and on the
other end either the gateway itself (`pty`) or Debian's ser2net 4.3 in front of it, which the gateway
reaches over loopback TCP as `tcp://` (raw) or `rfc2217://` (Telnet COM-PORT-OPTION).

Usage: LOOPGATE_BIN=build/release/loopgate PYTHONPATH=tests/integration:build/release/proto_py \\
       /usr/bin/python3 bench/network_poll.py [--seconds 20] [--runs 2] [--intervals 100,10]

Per run: a fresh line, slave, ser2net and gateway (one broker for all); after the first reading and
2 s more, a window of --seconds; runs alternate pty, tcp, rfc2217. Printed per run and as medians:
readings delivered in the window, the gateway's time on a CPU per reading (/proc/PID/task/*/schedstat,
all threads), and ser2net's per reading (the device server's side, which on site runs on another box).

A pty ignores the baud rate, so the transaction takes well under a millisecond on every path; the
figures are the gateway's cost per reading, not the bus's timing."""

import argparse
import os
import platform
import statistics
import subprocess
import sys
import time

import harness as h

def cpu_seconds(pid):
    """Time on a CPU of all the process's threads, in nanoseconds' resolution (schedstat), not in
    clock ticks: at 100 readings/s a tick (10 ms) is 5 us per reading of a 20 s window."""
    total = 0
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/schedstat") as f:
                total += int(f.read().split()[0])
        except OSError:
            pass  # a thread that ended meanwhile
    return total / 1e9


def one_run(d, broker, transport, interval_ms, seconds):
    run = os.path.join(d, f"{transport}-{interval_ms}-{time.monotonic_ns()}")
    os.makedirs(run)
    pty = h.PtyPair(run, "bus")
    pty.close_sensor_side()
    slave = h.modbus_slave(run, pty.sensor_end,
                           [{"unit": 1, "table": "holding", "address": a, "type": "uint16", "value": 1000 + a}
                            for a in range(10)], responsive=True)
    server = None
    if transport == "pty":
        path = pty.gateway_end
    else:
        server = h.Ser2net(run, pty.gateway_end, rfc2217=transport == "rfc2217", line="19200n81").start()
        path = f"{transport}://127.0.0.1:{server.port}"
    points = "\n".join(f"          - {{name: r{a}, table: holding, address: {a}, type: uint16}}" for a in range(10))
    cfg = h.write_config(run, broker.port, f"""  - name: bus
    path: {path}
    baud: 19200
    driver: modbus-rtu
    settings: {{response_timeout: 200ms, retries: 1}}
    devices:
      - name: meter
        unit: 1
        poll_interval: {interval_ms}ms
        points:
{points}
""")
    sub = h.Subscriber(broker.port)
    gw = h.Gateway(cfg, run).start()
    try:
        sub.wait_for(lambda s: s.readings(), 30, "the first reading")
        time.sleep(2)
        n0, c0 = len(sub.readings()), cpu_seconds(gw.proc.pid)
        s0 = cpu_seconds(server.proc.pid) if server else 0.0
        time.sleep(seconds)
        n1, c1 = len(sub.readings()), cpu_seconds(gw.proc.pid)
        s1 = cpu_seconds(server.proc.pid) if server else 0.0
    finally:
        gw.stop()
        sub.close()
        if server:
            server.kill()
        slave.kill()
        slave.wait(timeout=5)
        pty.close()
    readings = n1 - n0
    return {"transport": transport, "interval_ms": interval_ms, "readings": readings,
            "gateway_us": (c1 - c0) * 1e6 / max(readings, 1), "ser2net_us": (s1 - s0) * 1e6 / max(readings, 1)}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=20)
    ap.add_argument("--runs", type=int, default=2)
    ap.add_argument("--intervals", default="100,10")
    ap.add_argument("--transports", default="pty,tcp,rfc2217")
    a = ap.parse_args()
    if not h.have_ser2net():
        print("ser2net is not installed (scripts/install-deps.sh)", file=sys.stderr)
        return 1
    d = h.workdir("bench-network-poll")
    broker = h.Mosquitto(h.free_port(), d).start()
    print(f"# {platform.node()}: {os.cpu_count()} cores, load average {os.getloadavg()}, "
          f"{subprocess.run(['ser2net', '-v'], capture_output=True, text=True).stdout.strip()}")
    results = []
    for interval in [int(i) for i in a.intervals.split(",")]:
        for _ in range(a.runs):
            for transport in a.transports.split(","):
                r = one_run(d, broker, transport, interval, a.seconds)
                r["load"] = os.getloadavg()[0]
                results.append(r)
                print(f"  {transport:8} poll {interval:4} ms: {r['readings']:6} readings, gateway "
                      f"{r['gateway_us']:6.1f} us/reading, "
                      f"ser2net {r['ser2net_us']:6.1f} us/reading, "
                      f"load {r['load']:.1f}", flush=True)
    print("\n| path | poll | runs | readings/s | gateway CPU µs/reading (median) | ser2net CPU µs/reading |")
    print("| --- | --- | --- | --- | --- | --- |")
    for interval in [int(i) for i in a.intervals.split(",")]:
        for transport in a.transports.split(","):
            rs = [r for r in results if r["transport"] == transport and r["interval_ms"] == interval]
            print(f"| {transport} | {interval} ms | {len(rs)} | {statistics.median(r['readings'] for r in rs) / a.seconds:.1f} "
                  f"| {statistics.median(r['gateway_us'] for r in rs):.1f} "
                  f"| {statistics.median(r['ser2net_us'] for r in rs):.1f} |")
    broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
