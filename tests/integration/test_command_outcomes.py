#!/usr/bin/python3
"""What a command's reply says is what the device did: the real gateway, a pymodbus slave on one
socat pty pair, and two lines with no slave at all; commands on <prefix>/<gw>/cmd, replies read from
<prefix>/<gw>/cmd/reply with protobuf's Python runtime.

- a write the slave takes is OK, with the value its FC 06 echo carries and the time it answered;
  with verify, the value read back;
- a register the slave does not serve (holding 400: pymodbus answers ILLEGAL_DATA_ADDRESS) is
  FAILED with exception code 2;
- a register the slave acknowledges but keeps (locked): FAILED with both values, told by pymodbus's
  FC 06 echo (it echoes what the register holds) or, for FC 16 (which echoes no values), by verify;
- a unit that never answers (its own line: RTU slaves lose sync on requests for other units) is
  TIMEOUT after the driver's retries;
- a line whose adapter is gone (socat killed) is FAILED "port closed" at once;
- a write still waiting when the gateway stops is FAILED "gateway stopping", never OK;
- every command is one audit line, and the counters by outcome and reason say the same."""

import os
import re
import sys
import time
import urllib.request

import harness
import loopgate_pb2
from test_commands import Replies

Result = loopgate_pb2.CommandResult


def have_modules():
    try:
        import pymodbus.framer.rtu_framer  # noqa: F401
        import serial  # noqa: F401
    except ImportError:
        return False
    return True


def main():
    if not have_modules():
        print("skipping: python3-pymodbus or python3-serial missing")
        return 77
    d = harness.workdir("command-outcomes")
    broker = harness.Mosquitto(harness.free_port(), d).start()
    metrics_port = harness.free_port()
    bus = harness.PtyPair(d, "bus")
    dead = harness.PtyPair(d, "dead")    # unplugged half-way through
    quiet = harness.PtyPair(d, "quiet")  # holds a write while the gateway stops
    harness.modbus_slave(d, bus.sensor_end, [
        {"unit": 1, "table": "holding", "address": 220, "type": "int16", "value": 1},
        {"unit": 1, "table": "holding", "address": 230, "type": "int16", "value": 7, "locked": True},
        {"unit": 1, "table": "holding", "address": 240, "type": "float32", "value": 7.5, "locked": True},
    ])

    def silent_port(name, pty, device, unit):
        return f"""  - name: {name}
    path: {pty.gateway_end}
    baud: 19200
    driver: modbus-rtu
    settings: {{response_timeout: 200ms, retries: 1}}
    devices:
      - name: {device}
        unit: {unit}
        poll_interval: 60s
        points:
          - {{name: x, table: holding, address: 0, type: int16, writable: true}}
"""

    config = os.path.join(d, "loopgate.yaml")
    with open(config, "w") as f:
        f.write(f"""
gateway: {{id: test-gw, metrics: "127.0.0.1:{metrics_port}"}}
uplink:
  broker: tcp://127.0.0.1:{broker.port}
  batch: {{max_delay: 50ms}}
store: {{path: {d}/store.db}}
commands: {{enabled: true, rate_limit: 50/s, max_lifetime: 30s}}
ports:
  - name: bus
    path: {bus.gateway_end}
    baud: 19200
    driver: modbus-rtu
    settings: {{response_timeout: 300ms, retries: 1}}
    devices:
      - name: meter
        unit: 1
        poll_interval: 1s
        points:
          - {{name: mode, table: holding, address: 220, type: int16, writable: true}}
          - {{name: locked, table: holding, address: 230, type: int16, writable: true}}
          - {{name: locked_f, table: holding, address: 240, type: float32, writable: true}}
          - {{name: missing, table: holding, address: 400, type: int16, writable: true}}
{silent_port("dead", dead, "ghost", 7)}{silent_port("quiet", quiet, "mute", 9)}""")

    sub = harness.Subscriber(broker.port)
    gw = harness.Gateway(config, d).start()
    replies = None
    counter = [0]
    try:
        sub.wait_for(lambda s: any(r.device == "meter" and r.metric == "mode" for r in s.readings()), 20,
                     "the meter's first poll")
        replies = Replies(broker.port, "loopgate/test-gw/cmd")

        def send(device, point, value, verify=False):
            counter[0] += 1
            c = loopgate_pb2.Command(id=f"{point}-{counter[0]}", device=device, point=point, verify=verify,
                                     expires_ns=time.time_ns() + 20_000_000_000)
            if isinstance(value, float):
                c.double_value = value
            else:
                c.int_value = value
            sent = time.monotonic()
            replies.send(c.SerializeToString())
            r = replies.wait(c.id, timeout=15)
            print(f"  {c.id}: {Result.Status.Name(r.status)} {r.error} ({time.monotonic() - sent:.3f} s)")
            return r, time.monotonic() - sent

        def check(r, status, error=""):
            assert r.status == status, f"{r.id}: expected {Result.Status.Name(status)}, got {r}"
            assert error in r.error, f"{r.id}: {r.error!r} does not say {error!r}"
            assert r.gateway_id == "test-gw" and r.time_ns > 0, r

        # The slave took it: FC 06 echoes the value; the answer's time is after the command's arrival.
        r, _ = send("meter", "mode", 5)
        check(r, Result.OK)
        assert r.HasField("echoed") and r.echoed.int_value == 5, r
        assert r.time_ns <= r.device_time_ns <= time.time_ns(), r
        assert not r.HasField("read_back"), r
        r, _ = send("meter", "mode", 6, verify=True)
        check(r, Result.OK)
        assert r.read_back.int_value == 6 and r.echoed.int_value == 6, r

        # A register pymodbus does not serve: its exception, code and name.
        r, _ = send("meter", "missing", 1)
        check(r, Result.FAILED, "ILLEGAL_DATA_ADDRESS")
        assert r.exception_code == 2 and r.device_time_ns > 0, r

        # Acknowledged and not done. FC 06: pymodbus's echo says what the register holds.
        r, _ = send("meter", "locked", 9)
        check(r, Result.FAILED, "the device answered holding 7, wrote 9")
        assert r.echoed.int_value == 7 and not r.HasField("read_back") and r.exception_code == 0, r
        # FC 16 echoes address and quantity only: the read-back tells.
        r, _ = send("meter", "locked_f", 9.5, verify=True)
        check(r, Result.FAILED, "read back 7.5, wrote 9.5")
        assert r.echoed.double_value == 9.5 and r.read_back.double_value == 7.5, r

        # Nobody on the line: two tries of 200 ms each, then TIMEOUT, with no device time.
        r, took = send("ghost", "x", 1)
        check(r, Result.TIMEOUT, "no valid answer after 2 tries")
        assert r.device_time_ns == 0 and took >= 0.4, (r, took)

        # The adapter is unplugged: the port closes, and a command for it fails at once.
        dead.close()
        harness.wait_until(lambda: "port dead: lost" in gw.log_text(), 10, "the gateway to lose the dead line")
        r, took = send("ghost", "x", 2)
        check(r, Result.FAILED, "port closed")
        assert took < 2, took

        audit = [l for l in gw.log_text().splitlines() if re.search(r"command cmd \S+: ", l) and "handed to" not in l]
        for cid, outcome in [("mode-1", "ok"), ("mode-2", "ok"), ("missing-3", "failed (device_exception)"),
                             ("locked-4", "failed (verify_mismatch)"), ("locked_f-5", "failed (verify_mismatch)"),
                             ("x-6", "timeout"), ("x-7", "failed (port_closed)")]:
            lines = [l for l in audit if f"command cmd {cid}: " in l]
            assert len(lines) == 1, f"{cid}: {len(lines)} audit lines:\n" + "\n".join(audit)
            assert f": {outcome}" in lines[0] and re.search(r" in \d+\.\d ms$", lines[0]), lines[0]

        text = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
        samples = dict(re.findall(r"^(loopgate_commands\S+) (\S+)$", text, re.M))
        for series, value in [('loopgate_commands_total{outcome="ok"}', 2),
                              ('loopgate_commands_total{outcome="failed"}', 4),
                              ('loopgate_commands_total{outcome="timeout"}', 1),
                              ('loopgate_commands_total{outcome="refused"}', 0),
                              ('loopgate_commands_failed_total{reason="device_exception"}', 1),
                              ('loopgate_commands_failed_total{reason="verify_mismatch"}', 2),
                              ('loopgate_commands_failed_total{reason="port_closed"}', 1)]:
            assert float(samples.get(series, "nan")) == value, f"{series}: {samples.get(series)}\n{text}"

        # A write on the wire when SIGTERM comes: answered FAILED "gateway stopping", not OK, not lost.
        c = loopgate_pb2.Command(id="stopping-1", device="mute", point="x", int_value=1,
                                 expires_ns=time.time_ns() + 20_000_000_000)
        replies.send(c.SerializeToString())
        harness.wait_until(lambda: "command cmd stopping-1: handed to port quiet" in gw.log_text(), 10,
                           "the write to reach the quiet port")
        code = gw.stop()
        r = replies.wait("stopping-1", timeout=10)
        check(r, Result.FAILED, "gateway stopping")
        assert code == 0, code
        assert "command cmd stopping-1: mute/x = 1: failed (gateway_stopping)" in gw.log_text(), gw.log_text()
    except BaseException:
        print(gw.log_text())
        raise
    finally:
        if gw.proc.poll() is None:
            gw.stop()
        if replies:
            replies.client.loop_stop()
        sub.close()
        for pty in (bus, quiet):
            pty.close()
        broker.stop()
    print("command outcomes: OK with echo and read-back, exception code 2, verify mismatch, timeout, "
          "port closed and gateway stopping all answered as they happened")
    return 0


if __name__ == "__main__":
    sys.exit(main())
