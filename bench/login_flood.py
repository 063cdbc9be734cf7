#!/usr/bin/python3
"""Data latency during a login flood (issue 27): the status page off loopback with one user whose
hash has the shipped 100,000 iterations, a line sensor writing one record every 20 ms, and phases of
PHASE seconds alternating between no logins and a flood of bad logins (THREADS clients, each from its
own addresses in 127.(10+i).0.0/16, five guesses per address, back to back, as fast as answered).

Latency is the record's write to the pty -> its reading held by a paho subscriber in this process
(one clock). Also printed: password checks answered (401), logins refused as throttled (429) or busy
(503), and the gateway's CPU per phase.

Usage: LOOPGATE_BIN=build/release/loopgate PYTHONPATH=tests/integration:build/release/proto_py \\
       /usr/bin/python3 bench/login_flood.py [--phase 20] [--rounds 2] [--threads 4]"""

import argparse
import base64
import hashlib
import http.client
import os
import statistics
import threading
import time

import paho.mqtt.client as mqtt

import harness as h
import loopgate_pb2


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Latencies:
    def __init__(self, port):
        self.lock = threading.Lock()
        self.written = {}
        self.latency = {}
        self.client = mqtt.Client(client_id=f"bench-login-{os.getpid()}")
        ready = threading.Event()
        self.client.on_connect = lambda c, *_: c.subscribe("loopgate/+/data", 1)
        self.client.on_subscribe = lambda *_: ready.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert ready.wait(10), "cannot subscribe"

    def _on_message(self, client, userdata, msg):
        now = time.monotonic()
        b = loopgate_pb2.Batch()
        b.ParseFromString(msg.payload)
        with self.lock:
            for r in b.readings:
                if r.metric == "record" and r.int_value in self.written:
                    self.latency[r.int_value] = now - self.written[r.int_value]


class Flood(threading.Thread):
    def __init__(self, index, port, stop):
        super().__init__(daemon=True)
        self.index, self.port, self.stop = index, port, stop
        self.codes = {}
        self.next_address = 0

    def run(self):
        auth = "Basic " + base64.b64encode(b"tech:wrong").decode()
        while not self.stop.is_set():
            n = self.next_address
            self.next_address += 1
            source = f"127.{10 + self.index}.{n // 250}.{n % 250 + 1}"
            for _ in range(5):
                if self.stop.is_set():
                    return
                try:
                    conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=30, source_address=(source, 0))
                    conn.request("GET", "/api/status", headers={"Authorization": auth})
                    code = conn.getresponse().status
                    conn.close()
                except OSError:
                    code = "error"
                self.codes[code] = self.codes.get(code, 0) + 1


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--phase", type=float, default=20)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--threads", type=int, default=4)
    ap.add_argument("--max-delay", default="5ms")
    args = ap.parse_args()

    d = h.workdir("bench-login-flood")
    broker = h.Mosquitto(h.free_port(), d).start()
    line = h.PtyPair(d)
    http_port = h.free_port()
    cfg = h.line_config(d, broker.port, line.gateway_end, metrics=f"0.0.0.0:{http_port}", max_delay=args.max_delay)
    salt = os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", b"right-one", salt, 100_000)
    entry = (f'- {{name: tech, password_hash: "pbkdf2-sha256$100000${base64.b64encode(salt).decode()}$'
             f'{base64.b64encode(digest).decode()}"}}')
    text = open(cfg).read().split("uplink:")
    with open(cfg, "w") as f:
        f.write(text[0].rstrip("\n") + f"\n  http:\n    users:\n      {entry}\nuplink:" + text[1])
    gw = h.Gateway(cfg, d).start()
    lat = Latencies(broker.port)

    seq = 0
    print(f"binary {h.LOOPGATE}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, batch max_delay {args.max_delay}")
    print("phase | records | p50 ms | p99 ms | max ms | gateway CPU % | logins 401 / 429 / 503 / error")
    flood_index = 0
    for rnd in range(args.rounds):
        for flooding in (False, True):
            stop = threading.Event()
            floods = [Flood(flood_index * args.threads + i, http_port, stop) for i in range(args.threads)] if flooding else []
            flood_index += 1 if flooding else 0
            for t in floods:
                t.start()
            first = seq + 1
            cpu0, t0 = cpu_seconds(gw.proc.pid), time.monotonic()
            while time.monotonic() - t0 < args.phase:
                seq += 1
                with lat.lock:
                    lat.written[seq] = time.monotonic()
                line.write(b"T=1.25 N=%d\r\n" % seq)
                time.sleep(0.02)
            cpu = (cpu_seconds(gw.proc.pid) - cpu0) / (time.monotonic() - t0) * 100
            stop.set()
            for t in floods:
                t.join(60)
            h.wait_until(lambda: all(n in lat.latency for n in range(first, seq + 1)), 60, "the phase's readings")
            values = [lat.latency[n] * 1000 for n in range(first, seq + 1)]
            codes = {}
            for t in floods:
                for k, v in t.codes.items():
                    codes[k] = codes.get(k, 0) + v
            print(f"{'flood' if flooding else 'quiet'} {rnd + 1} | {len(values)} | {statistics.median(values):.1f} | "
                  f"{percentile(values, 99):.1f} | {max(values):.1f} | {cpu:.0f} | "
                  f"{codes.get(401, 0)} / {codes.get(429, 0)} / {codes.get(503, 0)} / {codes.get('error', 0)}",
                  flush=True)
    print(f"load after {os.getloadavg()[0]:.1f}")
    lat.client.loop_stop()
    gw.stop()
    line.close()
    broker.stop()


if __name__ == "__main__":
    main()
