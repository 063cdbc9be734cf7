#!/usr/bin/python3
"""Network ports that fail, each its own way, in one running gateway beside a line sensor on a pty
that must not notice: a host that drops the connect (a listener whose backlog is full: SYNs go
unanswered), an address off the network (192.0.2.1, TEST-NET-1), a refused port, a server that
accepts then closes at once, one that sends garbage instead of Telnet, and a half-open connection
(a relay in front of ser2net and a pymodbus RTU slave goes silent without closing anything).

Each is reported in status with its reason and retried; the accept-then-close loop is logged once,
not once per retry; the half-open connection is taken down after reconnect_after_silence and the
polls resume on a new one; the pty sensor's records all arrive, in order, throughout."""

import json
import os
import socket
import subprocess
import sys
import threading
import time
import urllib.request

import harness as h


if not h.have_ser2net():
    print("skipped: ser2net, python3-pymodbus or python3-serial missing")
    sys.exit(77)


class Server(threading.Thread):
    """A loopback TCP server that runs `behave(conn)` for each connection; counts them."""

    def __init__(self, behave):
        super().__init__(daemon=True)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.sock.settimeout(0.1)
        self.port = self.sock.getsockname()[1]
        self.behave = behave
        self.connections = 0
        self.halt = threading.Event()
        self.start()

    def run(self):
        while not self.halt.is_set():
            try:
                conn, _ = self.sock.accept()
            except socket.timeout:
                continue
            self.connections += 1
            threading.Thread(target=self.behave, args=(conn, self.halt), daemon=True).start()

    def stop(self):
        self.halt.set()
        self.join(timeout=5)
        self.sock.close()


def close_at_once(conn, halt):
    conn.close()


def babble(conn, halt):
    """Garbage where Telnet is expected: IAC before non-commands, stray SE, a broken subnegotiation."""
    junk = bytes([0x41, 0xFF, 0x41, 0xFF, 0xF0, 0x13, 0xFF, 0xFA, 0x2C, 0x65, 0xFF, 0x10, 0x7E]) * 4
    try:
        while not halt.wait(0.2):
            conn.sendall(junk)
    except OSError:
        pass
    finally:
        conn.close()


d = h.workdir("network-faults")
broker = h.Mosquitto(h.free_port(), d).start()
sub = h.Subscriber(broker.port)
line = h.PtyPair(d, "met")

# A listener that never accepts, its backlog filled: further SYNs are dropped, connects hang.
blackhole = socket.socket()
blackhole.bind(("127.0.0.1", 0))
blackhole.listen(0)
fillers = []
for _ in range(4):
    s = socket.socket()
    s.setblocking(False)
    s.connect_ex(blackhole.getsockname())
    fillers.append(s)
refused_port = h.free_port()
slammer = Server(close_at_once)
babbler = Server(babble)

bus = h.PtyPair(d, "bus")
bus.close_sensor_side()
slave = h.modbus_slave(d, bus.sensor_end, [{"unit": 1, "table": "holding", "address": 0, "type": "int16", "value": 7}])
ser2net = h.Ser2net(d, bus.gateway_end).start()
relay = h.Relay(ser2net.port)

http = h.free_port()
modbus = """    driver: modbus-rtu
    settings: {response_timeout: 300ms, retries: 0}
    devices: [{name: %s, unit: 1, poll_interval: 200ms, points: [{name: x, table: holding, address: 0, type: int16}]}]
"""
cfg = os.path.join(d, "loopgate.yaml")
with open(cfg, "w") as f:
    f.write(f"""
gateway: {{id: test-gw, metrics: "127.0.0.1:{http}"}}
uplink: {{broker: "tcp://127.0.0.1:{broker.port}", reconnect_min: 100ms, reconnect_max: 1s, batch: {{max_delay: 50ms}}}}
store: {{path: {d}/store.db}}
ports:
  - name: met
    path: {line.gateway_end}
    driver: line
    settings: {{format: keyvalue, terminator: "\\r\\n", fields: [{{field: N, metric: record, type: int}}]}}
    devices: [{{name: ws1}}]
  - name: blackhole
    path: tcp://127.0.0.1:{blackhole.getsockname()[1]}
    network: {{connect_timeout: 1s}}
    reopen_min: 200ms
    reopen_max: 1s
{modbus % "bh"}  - name: offnet
    path: tcp://192.0.2.1:4001
    network: {{connect_timeout: 1s}}
    reopen_min: 200ms
    reopen_max: 1s
{modbus % "off"}  - name: refused
    path: tcp://127.0.0.1:{refused_port}
    reopen_min: 100ms
    reopen_max: 200ms
{modbus % "ref"}  - name: slammer
    path: tcp://127.0.0.1:{slammer.port}
    reopen_min: 100ms
    reopen_max: 200ms
{modbus % "slam"}  - name: babbler
    path: rfc2217://127.0.0.1:{babbler.port}
{modbus % "bab"}  - name: halfopen
    path: tcp://127.0.0.1:{relay.port}
    baud: 19200
    network: {{reconnect_after_silence: 2s}}
    reopen_min: 100ms
    reopen_max: 500ms
{modbus % "meter"}""")
check = subprocess.run([h.LOOPGATE, "check-config", cfg], capture_output=True, text=True, timeout=30)
assert check.returncode == 0, check.stderr
gw = h.Gateway(cfg, d).start()
feeder = h.Feeder(line, period=0.05)
feeder.start()


def ports():
    started = time.monotonic()
    with urllib.request.urlopen(f"http://127.0.0.1:{http}/api/status", timeout=5) as r:
        doc = json.load(r)
    # The status page is served by the same event loop as every port: it answers promptly.
    assert time.monotonic() - started < 2, "the status page took over 2 s while ports were failing"
    return {p["name"]: p for p in doc["ports"]}


def error_of(name):
    return ports()[name]["last_error"] or ""


def meter_readings(s):
    return [r for r in s.readings() if r.device == "meter" and r.metric == "x"]


try:
    sub.wait_for(lambda s: meter_readings(s), 30, "the half-open port's first polls")
    h.wait_until(lambda: "timed out after 1000 ms" in error_of("blackhole"), 20, "the blackhole's connect timeout")
    h.wait_until(lambda: "192.0.2.1:4001" in error_of("offnet"), 20, "the off-network address in status")
    h.wait_until(lambda: "Connection refused" in error_of("refused"), 20, "the refused port in status")
    h.wait_until(lambda: "the server closed the connection" in error_of("slammer") and slammer.connections >= 5, 20,
                 "the accept-then-close server in status, retried")
    babbled = h.wait_until(lambda: (lambda p: p if p.get("remote_port", {}).get("protocol_errors", 0) > 0 else None)(
        ports()["babbler"]), 20, "the babbler's garbage counted")
    assert babbled["remote_port"]["com_port_option"] is False, babbled
    for name in ("blackhole", "offnet", "refused"):
        h.wait_until(lambda: (lambda p: not p["open"] and p["failures"] >= 2)(ports()[name]), 20, f"{name} retried")

    # Half-open: the relay swallows everything and closes nothing. The gateway gives up on the
    # connection after 2 s of unanswered polls and reconnects; the polls resume.
    assert relay.connections == 1
    frozen_at = len(meter_readings(sub))
    relay.freeze()
    h.wait_until(lambda: ports()["halfopen"]["silence_reconnects"] >= 1, 20, "the half-open connection detected")
    assert "taken for half-open" in error_of("halfopen"), error_of("halfopen")
    sub.wait_for(lambda s: len(meter_readings(s)) > frozen_at + 5, 30, "polls on the new connection")
    assert relay.connections >= 2

    log = gw.log_text()
    for name, said in (("slammer", "lost"), ("refused", "Connection refused"), ("blackhole", "timed out")):
        lines = [l for l in log.splitlines() if f"port {name}:" in l and said in l]
        assert len(lines) == 1, f"{name}: {said!r} logged {len(lines)} times:\n" + "\n".join(lines)

    # The pty sensor never noticed: every record so far arrived, in order.
    feeder.stop()
    sent = feeder.sent
    sub.wait_for(lambda s: {r.int_value for r in s.readings() if r.device == "ws1"} >= set(range(1, sent + 1)), 20,
                 f"all {sent} records of the pty sensor")
    numbers = [r.int_value for r in sub.readings() if r.device == "ws1"]
    assert numbers == sorted(numbers), "the pty sensor's records arrived out of order"
    assert gw.stop() == 0
    print(f"ok: six failing network ports reported and retried; {sent} pty records meanwhile, none lost")
finally:
    feeder.stop()
    for server in (slammer, babbler):
        server.stop()
    relay.cut()
    ser2net.kill()
    for s in fillers:
        s.close()
    blackhole.close()
    sub.close()
    line.close()
    bus.close()
    broker.stop()
