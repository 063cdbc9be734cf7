#!/usr/bin/python3
"""Memory under a flood of invented names (issue 27): an NMEA talker on a socat pty sends XDR
sentences of four transducers each, every transducer a new name (`xdr.N<k>`), as fast as the pty
takes them, for SECONDS; the script prints the gateway's resident memory (VmRSS) before and after,
and the size of /api/status. Real parts: mosquitto on 127.0.0.1, the loopgate binary, the port
with its default `max_metrics`.

Usage: LOOPGATE_BIN=build/release/loopgate PYTHONPATH=tests/integration:build/release/proto_py \\
       /usr/bin/python3 bench/name_flood.py [--seconds 60]"""

import argparse
import json
import os
import time
import urllib.request

import harness as h


def xdr(names):
    body = "IIXDR," + ",".join(f"C,20.0,C,{n}" for n in names)
    checksum = 0
    for c in body.encode():
        checksum ^= c
    return f"${body}*{checksum:02X}\r\n".encode()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=float, default=60)
    args = ap.parse_args()
    d = h.workdir("name-flood")
    broker = h.Mosquitto(h.free_port(), d).start()
    line = h.PtyPair(d, f"name-flood-{os.getpid()}")
    http_port = h.free_port()
    cfg = h.write_config(d, broker.port, f"""  - name: sounder
    path: {line.gateway_end}
    baud: 115200
    driver: nmea0183
    devices: [{{name: boat}}]
""")
    with open(cfg) as f:
        text = f.read()
    with open(cfg, "w") as f:
        f.write(text.replace("metrics: off", f"metrics: 127.0.0.1:{http_port}"))
    gw = h.Gateway(cfg, d).start()

    def rss_mb():
        with open(f"/proc/{gw.proc.pid}/status") as f:
            return next(int(l.split()[1]) // 1024 for l in f if l.startswith("VmRSS"))

    before = rss_mb()
    names = 0
    started = time.monotonic()
    while time.monotonic() - started < args.seconds:
        line.write(b"".join(xdr([f"N{names + i * 4 + k}" for k in range(4)]) for i in range(250)))
        names += 1000
    time.sleep(2)  # what the pty still held is read
    after = rss_mb()
    with urllib.request.urlopen(f"http://127.0.0.1:{http_port}/api/status", timeout=300) as r:
        body = r.read()
    counters = next(p for p in json.loads(body)["ports"] if p["name"] == "sounder")["counters"]
    print(f"{counters['sentences'] * 4:,} names read in {args.seconds:.0f} s ({names:,} written): "
          f"VmRSS {before} -> {after} MB, /api/status {len(body):,} bytes")
    gw.stop()
    line.close()
    broker.stop()


if __name__ == "__main__":
    main()
