#!/usr/bin/python3
"""Discovery at fleet scale: `loopgate find` over 10,000 gateways' retained catalogs.

Starts a mosquitto of its own on a free loopback port, publishes GATEWAYS synthesized catalogs
(DEVICES devices of METRICS metrics each, in the schema gateway/catalog/catalog.cpp writes) retained
at QoS 1 on loopgate/<gw>/catalog, then runs the real `loopgate find` against them and reports:
the time to the first match printed, to the last, to the exit (after its quiet interval), the
process's peak RSS, and the broker's. Usage:

    bench/find_bench.py LOOPGATE_BINARY [--gateways 10000] [--devices 5] [--metrics 8] [--runs 3]
"""

import argparse
import json
import os
import platform
import pwd
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time

import paho.mqtt.client as mqtt

KINDS = [("air_temperature", "degC", "air temperature"), ("water_temperature", "degC", "water temperature"),
         ("pressure", "bar", "line pressure"), ("flow", "m3/h", "flow rate"), ("level", "m", "tank level"),
         ("voltage_l1", "V", "phase 1 voltage"), ("current_l1", "A", "phase 1 current"),
         ("energy", "kWh", "active energy import")]


def catalog(i, devices, metrics):
    gw = f"gw-{i:05d}"
    topic = f"loopgate/{gw}/data"
    devs = []
    for k in range(devices):
        ms = []
        for j in range(metrics):
            name, unit, desc = KINDS[j % len(KINDS)]
            ms.append({"name": name if j < len(KINDS) else f"{name}_{j}", "type": "double", "unit": unit,
                       "description": desc, "writable": False, "report": {"deadband": 0.5},
                       "topic": topic})
        devs.append({"name": f"dev{k}", "port": "rs485", "driver": "modbus-rtu", "address": {"unit": k + 1},
                     "labels": {"cell": f"c{k}"}, "online": True, "metrics": ms})
    return json.dumps({
        "schema": 1,
        "gateway": {"id": gw, "version": "0.1.0", "config_version": 0, "config_sha256": "0" * 64,
                    "labels": {"site": f"site-{i % 100:03d}", "area": "pumps"}},
        "topics": {"data": topic, "data_payload": "loopgate.v1.Batch", "status": f"loopgate/{gw}/status",
                   "command": None},
        "ports": [{"name": "rs485", "driver": "modbus-rtu", "transport": "rs485", "path": "/dev/ttyUSB0"}],
        "devices": devs}, separators=(",", ":"))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def run_find(loopgate, port, args):
    """find's output timed line by line; its peak RSS from wait4's rusage."""
    start = time.monotonic()
    p = subprocess.Popen([loopgate, "find", *args, "--broker", f"tcp://127.0.0.1:{port}", "--timeout", "60"],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    first = last = None
    lines = 0
    for _ in p.stdout:
        now = time.monotonic() - start
        first = first if first is not None else now
        last = now
        lines += 1
    _, status, usage = os.wait4(p.pid, 0)
    end = time.monotonic() - start
    err = p.stderr.read()
    p.returncode = os.waitstatus_to_exitcode(status)
    return {"lines": lines, "first_s": first, "last_s": last, "exit_s": end, "rss_kib": usage.ru_maxrss,
            "code": p.returncode, "stderr": err.strip()}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("loopgate")
    ap.add_argument("--gateways", type=int, default=10000)
    ap.add_argument("--devices", type=int, default=5)
    ap.add_argument("--metrics", type=int, default=8)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()

    work = tempfile.mkdtemp(prefix="lgbench-find-")
    port = free_port()
    conf = os.path.join(work, "mosquitto.conf")
    with open(conf, "w") as f:
        f.write(f"user {pwd.getpwuid(os.geteuid()).pw_name}\nlistener {port} 127.0.0.1\nallow_anonymous true\n"
                "persistence false\nmax_queued_messages 0\nmax_inflight_messages 0\n")
    broker = subprocess.Popen(["mosquitto", "-c", conf], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
                break
            except OSError:
                time.sleep(0.05)

        sizes = 0
        pub = mqtt.Client(client_id="lgbench-find-pub")
        pub.max_inflight_messages_set(1000)
        pub.max_queued_messages_set(0)
        pub.connect("127.0.0.1", port)
        pub.loop_start()
        t0 = time.monotonic()
        infos = []
        for i in range(a.gateways):
            payload = catalog(i, a.devices, a.metrics)
            sizes += len(payload)
            infos.append(pub.publish(f"loopgate/gw-{i:05d}/catalog", payload, qos=1, retain=True))
            if len(infos) >= 2000:
                for info in infos:
                    info.wait_for_publish(30)
                infos = []
        for info in infos:
            info.wait_for_publish(30)
        published_s = time.monotonic() - t0
        pub.loop_stop()
        pub.disconnect()

        print(f"machine: {platform.node()}, {os.cpu_count()} CPUs, load average "
              f"{' '.join(f'{x:.2f}' for x in os.getloadavg())} (shared with other engineers' builds and tests)")
        print(f"catalogs: {a.gateways} gateways x {a.devices} devices x {a.metrics} metrics = "
              f"{a.gateways * a.devices * a.metrics} metrics; {sizes / a.gateways / 1024:.1f} KiB per catalog, "
              f"{sizes / 1e6:.1f} MB retained; published in {published_s:.1f} s")
        print(f"broker peak RSS after publishing: {rss_kib(broker.pid) / 1024:.0f} MiB")
        queries = [
            ("one site's temperatures", ["temperature", "--label", "site=site-042"]),
            ("a word in every catalog", ["voltage"]),
            ("a word in none", ["no-such-thing"]),
        ]
        for title, args in queries:
            results = [run_find(a.loopgate, port, args) for _ in range(a.runs)]
            for r in results:
                assert r["code"] in (0, 1), r
            fmt = lambda k: "/".join("-" if r[k] is None else f"{r[k]:.2f}" for r in results)  # noqa: E731
            print(f"find {' '.join(args)}  ({title}): {results[0]['lines']} lines; first match {fmt('first_s')} s, "
                  f"last {fmt('last_s')} s, exit {fmt('exit_s')} s; peak RSS "
                  f"{'/'.join(str(r['rss_kib'] // 1024) for r in results)} MiB  [{results[-1]['stderr']}]")
    finally:
        broker.terminate()
        broker.wait(timeout=10)
        shutil.rmtree(work, True)


if __name__ == "__main__":
    sys.exit(main())
