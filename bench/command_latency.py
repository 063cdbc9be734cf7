#!/usr/bin/python3
"""Command latency: a Command published on <prefix>/<gw>/cmd -> its CommandResult received on
cmd/reply, with the reply sent only once the device answered (issue 15). Real parts: mosquitto on
127.0.0.1, the loopgate binary, a socat pty pair at 19200 baud 8N1, a pymodbus slave reading
the line as bytes arrive (tests/integration/modbus_slave.py --responsive).

Usage: LOOPGATE_BIN=build/release/loopgate PYTHONPATH=tests/integration:build/release/proto_py \\
       /usr/bin/python3 bench/command_latency.py [--count 200]

Scenarios, each COUNT commands one at a time (the next one 20-40 ms after the last reply, so
sends do not lock onto the gateway's timers):
  idle       FC 06 write, the device otherwise polled every 60 s: the line is idle when it comes
  idle+verify  the same with verify (write, then a read of the point, then the reply)
  busy       FC 06 write while the device is polled every 50 ms: the write waits for the
             transaction on the wire (at most one), then goes ahead of the polls
  idle, Nagle  idle again, with mosquitto's default set_tcp_nodelay false: Nagle's algorithm
             against delayed ACKs holds small MQTT packets on loopback (the others set it true)

A pty moves bytes without baud timing, so the figures hold the gateway, broker and slave time but
not the wire time; the script prints what a real 19200 baud line adds."""

import argparse
import os
import platform
import random
import statistics
import sys
import threading
import time

import paho.mqtt.client as mqtt

import harness
import loopgate_pb2

BAUD = 19200


def percentile(values, p):
    s = sorted(values)
    return s[min(len(s) - 1, int(round(p / 100 * (len(s) - 1))))]


class Commander:
    def __init__(self, port):
        self.cond = threading.Condition()
        self.replies = {}
        self.client = mqtt.Client(client_id=f"bench-cmd-{os.getpid()}")
        ready = threading.Event()
        self.client.on_connect = lambda c, *_: c.subscribe("loopgate/bench-gw/cmd/reply", 1)
        self.client.on_subscribe = lambda *_: ready.set()
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert ready.wait(10), "cannot subscribe to the reply topic"

    def _on_message(self, client, userdata, msg):
        arrived = (time.monotonic(), time.time_ns())
        r = loopgate_pb2.CommandResult()
        r.ParseFromString(msg.payload)
        with self.cond:
            self.replies[r.id] = (arrived, r)
            self.cond.notify_all()

    def run(self, cid, point, value, verify, timeout=10):
        c = loopgate_pb2.Command(id=cid, device="meter", point=point, int_value=value, verify=verify,
                                 expires_ns=time.time_ns() + 30_000_000_000)
        payload = c.SerializeToString()
        sent, sent_wall = time.monotonic(), time.time_ns()
        self.client.publish("loopgate/bench-gw/cmd", payload, qos=1)
        with self.cond:
            if not self.cond.wait_for(lambda: cid in self.replies, timeout):
                raise TimeoutError(f"no reply to {cid}")
            (arrived, arrived_wall), r = self.replies.pop(cid)
        assert r.status == loopgate_pb2.CommandResult.OK, r
        # One machine, one wall clock: the hops in, through the gateway and the device, and out.
        hops = ((r.time_ns - sent_wall) / 1e6, (r.device_time_ns - r.time_ns) / 1e6,
                (arrived_wall - r.device_time_ns) / 1e6)
        return (arrived - sent) * 1000, hops

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


def scenario(name, poll_interval, verify, count, nodelay):
    d = harness.workdir("bench-cmd")
    broker = harness.Mosquitto(harness.free_port(), d)
    if nodelay:
        with open(broker.conf, "a") as f:
            f.write("set_tcp_nodelay true\n")
    broker.start()
    pty = harness.PtyPair(d, f"bus-{os.getpid()}")
    harness.modbus_slave(d, pty.sensor_end, [
        {"unit": 1, "table": "holding", "address": 10, "type": "int16", "value": 0}], baud=BAUD, responsive=True)
    config = os.path.join(d, "loopgate.yaml")
    with open(config, "w") as f:
        f.write(f"""
gateway: {{id: bench-gw, metrics: off}}
uplink: {{broker: tcp://127.0.0.1:{broker.port}}}
store: {{path: {d}/store.db}}
commands: {{enabled: true, rate_limit: 1000/s}}
ports:
  - name: bus
    path: {pty.gateway_end}
    baud: {BAUD}
    driver: modbus-rtu
    settings: {{response_timeout: 200ms, retries: 1}}
    devices:
      - name: meter
        unit: 1
        poll_interval: {poll_interval}
        points:
          - {{name: level, table: holding, address: 10, type: int16, writable: true}}
""")
    gw = harness.Gateway(config, d).start()
    cmd = Commander(broker.port)
    try:
        harness.wait_until(lambda: "port bus: opened" in gw.log_text() and "uplink: connected" in gw.log_text(), 10,
                           "the port to open and the uplink to connect")
        for attempt in range(20):  # the command subscription follows the connect: ask until it answers
            try:
                cmd.run(f"hello-{attempt}", "level", 0, False, timeout=0.5)
                break
            except TimeoutError:
                continue
        else:
            raise AssertionError("the gateway never answered a command\n" + gw.log_text())
        for i in range(5):  # warm-up: connections, first allocations
            cmd.run(f"warm-{i}", "level", i, verify)
        latencies, hops = [], []
        for i in range(count):
            time.sleep(random.uniform(0.020, 0.040))
            total, split = cmd.run(f"{name}-{i}", "level", i % 1000, verify)
            latencies.append(total)
            hops.append(split)
    finally:
        cmd.close()
        gw.stop()
        pty.close()
        broker.stop()
    return latencies, hops


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--count", type=int, default=200)
    args = ap.parse_args()
    char_ms = 10 / BAUD * 1000  # 8N1: 10 bits a character
    t35_ms = 3.5 * char_ms
    wire_fc06 = 2 * 8 * char_ms  # request and echo, 8 bytes each
    wire_read = (8 + 7) * char_ms  # FC 03 of one register: request 8, answer 7
    print(f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, load {os.getloadavg()[0]:.2f}; "
          f"loopgate {harness.LOOPGATE}")
    print(f"line: socat pty pair, {BAUD} baud 8N1 configured (a pty applies no baud timing); "
          f"pymodbus slave --responsive; mosquitto on 127.0.0.1; QoS 1 both ways; {args.count} commands each")
    print(f"a real {BAUD} baud line adds: FC 06 {wire_fc06:.1f} ms on the wire (+ the slave's turnaround), "
          f"verify's read {wire_read:.1f} ms more and a t3.5 gap of {t35_ms:.2f} ms before it")
    print(f"{'scenario':14} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8} {'mean ms':>8}   "
          f"median of: to gateway | gateway+device | reply out")
    for name, poll, verify, nodelay in [("idle", "60s", False, True), ("idle+verify", "60s", True, True),
                                        ("busy", "50ms", False, True), ("idle, Nagle", "60s", False, False)]:
        lat, hops = scenario(name, poll, verify, args.count, nodelay)
        split = " | ".join(f"{statistics.median(h[k] for h in hops):6.2f}" for k in range(3))
        print(f"{name:14} {percentile(lat, 50):8.2f} {percentile(lat, 99):8.2f} {max(lat):8.2f} "
              f"{statistics.mean(lat):8.2f}   {split}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
