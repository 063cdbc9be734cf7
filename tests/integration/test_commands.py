#!/usr/bin/python3
"""Commands pushed down from the broker, end to end: the real gateway with a modbus-rtu port on a
socat pty pair, a pymodbus slave on the other end, commands signed with an operator key
(`loopgate keygen`, signed here with python3-cryptography), answers read on <prefix>/<gw>/cmd/reply.

A write to a writable point round-trips (the next poll reads the new value back and publishes it);
a non-writable point, an out-of-range value, an expired command, a replayed id, a burst over the
rate limit, an unsigned command and a tampered signature are refused and answered. Malformed
payloads (invalid UTF-8 in a string field) are refused without flooding the log: libprotobuf's own
complaints go through the gateway's rate-limited log. A signed command captured and re-sent after a
clean restart or a kill -9 is refused as a replay, and the device is written only once."""

import os
import signal
import sys
import time

import harness
import loopgate_pb2


def have_modules():
    try:
        import pymodbus.framer.rtu_framer  # noqa: F401
        import serial  # noqa: F401
        from cryptography.hazmat.primitives.asymmetric import ed25519  # noqa: F401
    except ImportError:
        return False
    return True


class Replies(harness.ReplyCollector):
    """Publishes commands and collects CommandResults from the reply topic, by command id."""

    def __init__(self, port, topic):
        super().__init__(port, topic, topic + "/reply", loopgate_pb2.CommandResult, lambda r: r.id, name="cmd")

    def wait(self, cid, count=1, timeout=10):
        return super().wait(cid, count=count, timeout=timeout, what="command result")


class Signer(harness.OperatorKey):
    """Makes Commands, signed with the operator key the gateway trusts."""

    def __init__(self, key_prefix):
        super().__init__(key_prefix)
        self.counter = 0

    def cmd(self, point="setpoint", value=42.25, *, cid=None, expires_in=10.0, sign=True, tamper=False,
            device="meter"):
        self.counter += 1
        c = loopgate_pb2.Command(id=cid or f"cmd-{self.counter}", device=device, point=point,
                                 expires_ns=time.time_ns() + int(expires_in * 1e9))
        if isinstance(value, bool):
            c.bool_value = value
        elif isinstance(value, int):
            c.int_value = value
        else:
            c.double_value = value
        if sign:
            self.sign(c)
        if tamper:
            c.double_value = 99.0
        return c


def setup(name):
    """A broker, a pymodbus meter on a pty pair, an operator key and a gateway config requiring it."""
    d = harness.workdir(name)
    broker = harness.Mosquitto(harness.free_port(), d).start()
    pty = harness.PtyPair(d, "bus")
    meter_port = harness.writable_meter(d, pty)
    operator = harness.keygen(d, "operator")
    config = os.path.join(d, "loopgate.yaml")
    with open(config, "w") as f:
        f.write(f"""
gateway: {{id: test-gw}}
uplink:
  broker: tcp://127.0.0.1:{broker.port}
  reconnect_min: 100ms
  reconnect_max: 1s
  batch: {{max_delay: 50ms}}
store: {{path: {d}/store.db}}
commands:
  enabled: true
  rate_limit: 3/s
  max_lifetime: 30s
  require_signature: true
  operator_keys: [{operator}.pub]
ports:
{meter_port}""")
    return d, broker, config, Signer(operator)


OK, REFUSED = loopgate_pb2.CommandResult.OK, loopgate_pb2.CommandResult.REFUSED


def expect_reply(replies, c, status, error=""):
    """Sends a Command and asserts the gateway's answer to it."""
    replies.send(c.SerializeToString())
    r = replies.wait(c.id, count=replies.count(c.id) + 1)
    name = loopgate_pb2.CommandResult.Status.Name(r.status)
    assert r.status == status, f"{c.id}: expected {loopgate_pb2.CommandResult.Status.Name(status)}, got {name}: {r.error}"
    assert error in r.error, f"{c.id}: error {r.error!r} does not mention {error!r}"
    assert r.gateway_id == "test-gw" and r.time_ns > 0
    print(f"  {c.id}: {name} {r.error}")
    return r


def device_writes(d):
    """Writes the pymodbus slave has executed (it logs each one to slave.log)."""
    with open(os.path.join(d, "slave.log"), errors="replace") as f:
        return sum(1 for line in f if "modbus_slave: write" in line)


def main():
    if not have_modules():
        print("skipping: python3-pymodbus, python3-serial or python3-cryptography missing")
        return 77
    code = round_trip_and_refusals()
    if code == 0:
        code = replay_after_restart()
    return code


def round_trip_and_refusals():
    d, broker, config, signer = setup("commands")
    sub = harness.Subscriber(broker.port)
    gw = harness.Gateway(config, d).start()
    try:
        def latest(point):
            vals = [r for r in sub.readings() if r.device == "meter" and r.metric == point]
            return vals[-1] if vals else None

        sub.wait_for(lambda s: latest("setpoint") is not None and any("online" in x for x in s.status), 20,
                     "the first setpoint reading and the online status")
        assert abs(latest("setpoint").double_value - 10.0) < 1e-9, latest("setpoint")
        replies = Replies(broker.port, "loopgate/test-gw/cmd")

        cmd = signer.cmd

        def expect(c, status, error=""):
            return expect_reply(replies, c, status, error)

        # A write round-trips: answered OK once the meter confirmed it (FC 16 confirms the words sent),
        # read back by the next poll, published.
        ok = cmd(value=42.25, cid="write-1")
        r = expect(ok, OK)
        assert r.HasField("echoed") and r.echoed.double_value == 42.25, r
        assert r.device_time_ns >= r.time_ns, r
        sub.wait_for(lambda s: latest("setpoint") and abs(latest("setpoint").double_value - 42.25) < 1e-6, 10,
                     "the written setpoint to be read back and published")

        expect(cmd("voltage", 100), REFUSED, "not writable")
        expect(cmd(value=150.0), REFUSED, "accepts 0..100")
        time.sleep(1.2)  # the bucket (3/s) refills
        expect(cmd(expires_in=-5), REFUSED, "expired")
        expect(cmd(expires_in=3600), REFUSED, "too far ahead")
        expect(ok, REFUSED, "repeated id 'write-1'")
        expect(cmd(sign=False), REFUSED, "missing signature")
        expect(cmd(tamper=True), REFUSED, "bad signature")
        expect(cmd(device="pump"), REFUSED, "no port has a device 'pump'")
        replies.send(b"\xff\xff not a command")
        r = replies.wait("")
        assert r.status == REFUSED and "not a loopgate.v1.Command" in r.error, r

        # Invalid UTF-8 in a string field (device: C3 28), hand-encoded since protobuf's own encoder
        # refuses to make one. libprotobuf complains about each; the complaints are rate-limited.
        flood = 40
        for i in range(flood):
            cid = f"utf8-{i}".encode()
            replies.send(b"\x0a" + bytes([len(cid)]) + cid + b"\x12\x02\xc3\x28")
        r = replies.wait("", count=1 + flood)
        assert r.status == REFUSED and "not a loopgate.v1.Command" in r.error, r
        log = gw.log_text()
        assert "[libprotobuf" not in log, "raw libprotobuf lines bypass the log's rate limit:\n" + log
        utf8_lines = [l for l in log.splitlines() if "invalid UTF-8" in l]
        assert 1 <= len(utf8_lines) <= 5, f"{len(utf8_lines)} invalid UTF-8 lines for {flood} payloads:\n" + log
        assert "protobuf: " in utf8_lines[0] and "loopgate.v1.Command.device" in utf8_lines[0], utf8_lines[0]

        # Too fast: a burst of 6 to one device at 3/s; the first 3 pass, the rest are refused.
        time.sleep(1.2)
        burst = [cmd(value=float(i)) for i in range(6)]
        for c in burst:
            replies.send(c.SerializeToString())
        results = [replies.wait(c.id) for c in burst]
        statuses = [r.status for r in results]
        assert statuses.count(OK) >= 3 and statuses.count(REFUSED) >= 2, [(r.status, r.error) for r in results]
        assert all("rate limit" in r.error for r in results if r.status == REFUSED), [r.error for r in results]
        # The last accepted write wins on the bus.
        last_ok = max(i for i, r in enumerate(results) if r.status == OK)
        sub.wait_for(lambda s: latest("setpoint") and abs(latest("setpoint").double_value - float(last_ok)) < 1e-6, 10,
                     f"setpoint {last_ok} to be read back")
        log = gw.log_text()
        assert "bad signature" in log and "command cmd write-1: meter/setpoint = 42.25: ok in" in log, log
    except BaseException:
        print(gw.log_text())
        raise
    finally:
        code = gw.stop()
        sub.close()
        broker.stop()
    assert code == 0, code
    print("commands: round trip and every refusal checked")
    return 0


def replay_after_restart():
    """A signed command captured off the broker and sent again after the gateway restarted, within
    its expiry: refused as a replay, after a clean stop and after a kill -9 right after the reply."""
    d, broker, config, signer = setup("commands-replay")
    sub = harness.Subscriber(broker.port)
    replies = Replies(broker.port, "loopgate/test-gw/cmd")
    gw = None

    def start():
        seen = len(sub.status)
        g = harness.Gateway(config, d).start()
        # The command topic is subscribed before the online status goes out on the same connection.
        sub.wait_for(lambda s: any("online" in x for x in s.status[seen:]), 20, "the gateway's online status")
        return g

    def writes_reach(n):
        harness.wait_until(lambda: device_writes(d) >= n, 10, f"{n} writes on the meter")
        assert device_writes(d) == n, f"{device_writes(d)} writes on the meter, expected {n}"

    try:
        gw = start()
        first = signer.cmd(value=77.5, cid="captured-1", expires_in=25)
        expect_reply(replies, first, OK)
        writes_reach(1)

        assert gw.stop() == 0
        gw = start()
        assert "1 command ids from the previous run" in gw.log_text(), gw.log_text()
        expect_reply(replies, first, REFUSED, "repeated id 'captured-1' (replay)")
        # A fresh command still passes; had the replay been queued, it would reach the bus first.
        second = signer.cmd(value=12.5, cid="captured-2", expires_in=25)
        expect_reply(replies, second, OK)
        writes_reach(2)

        # kill -9 right after the answer: the id was on disk before the write was queued.
        assert gw.stop(signal.SIGKILL) == -signal.SIGKILL
        gw = start()
        expect_reply(replies, second, REFUSED, "repeated id 'captured-2' (replay)")
        expect_reply(replies, first, REFUSED, "repeated id 'captured-1' (replay)")
        expect_reply(replies, signer.cmd(value=13.5, cid="fresh-3"), OK)
        writes_reach(3)
    except BaseException:
        if gw:
            print(gw.log_text())
        raise
    finally:
        code = gw.stop() if gw and gw.proc.poll() is None else 0
        replies.client.loop_stop()
        sub.close()
        broker.stop()
    assert code == 0, code
    print("commands: captured commands refused after a clean restart and after kill -9; the meter written once each")
    return 0


if __name__ == "__main__":
    sys.exit(main())
