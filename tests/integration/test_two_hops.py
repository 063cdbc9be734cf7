#!/usr/bin/python3
"""Two hops, on real parts: the gateway publishes to a site hub (mosquitto running the shipped
deploy/examples/mosquitto-hub.conf, only ports, paths and credentials substituted), whose bridge
forwards to an "enterprise" mosquitto.

The enterprise broker is stopped for a while; during the cut the hub is restarted (SIGTERM) with
batches queued for the enterprise, and more arrive after the restart; then the enterprise comes
back. At the enterprise every batch arrives (in order per stream until the hub restarts: mosquitto
2.0.11 does not keep it across a restart), each signed batch still verifies
with the gateway's public key (python3-cryptography) after two hops, and the catalog and status
document are retained there. A command sent at the enterprise reaches the Modbus device (pymodbus)
through both hops and its reply comes back."""

import os
import re
import sys
import threading
import time

import paho.mqtt.client as mqtt

import harness as h
import loopgate_pb2


def have_modules():
    try:
        import pymodbus.framer.rtu_framer  # noqa: F401
        import serial  # noqa: F401
        from cryptography.hazmat.primitives import serialization  # noqa: F401
    except ImportError:
        return False
    return True


if not have_modules():
    print("skipping: python3-pymodbus, python3-serial or python3-cryptography missing")
    sys.exit(77)

from cryptography.hazmat.primitives import serialization  # noqa: E402

HUB_EXAMPLE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy", "examples",
                           "mosquitto-hub.conf")
d = h.workdir("two-hops")


def hub_config(port, enterprise_port):
    """The shipped hub config for mosquitto: the listener on `port`, persistence where
    harness.Mosquitto looks for it, the bridge to 127.0.0.1 without TLS or credentials; every other
    line as shipped."""
    with open(HUB_EXAMPLE) as f:
        text = f.read()
    subs = [
        (r"^listener 1883$", f"listener {port} 127.0.0.1"),
        (r"^allow_anonymous false$", "allow_anonymous true"),
        (r"^password_file .*$", ""),
        (r"^persistence_location .*$", f"persistence_location {d}/\npersistence_file mosquitto-{port}.db"),
        (r"^address .*$", f"address 127.0.0.1:{enterprise_port}"),
        (r"^bridge_cafile .*$", ""),
        (r"^remote_username .*$", ""),
        (r"^remote_password .*$", ""),
    ]
    for pattern, replacement in subs:
        text, n = re.subn(pattern, replacement, text, flags=re.M)
        assert n == 1, f"the hub example no longer has a line matching {pattern}"
    return text


class Retained:
    """What a fresh client sees retained on a topic (or None within the timeout)."""

    @staticmethod
    def get(port, topic, timeout=15):
        got = []
        done = threading.Event()
        c = mqtt.Client(client_id=f"retained-{os.getpid()}-{time.monotonic_ns()}")

        def on_message(client, userdata, msg):
            if msg.retain and msg.payload:
                got.append(msg.payload)
                done.set()

        c.on_message = on_message
        c.on_connect = lambda cl, *_: cl.subscribe(topic, 1)
        c.connect("127.0.0.1", port)
        c.loop_start()
        done.wait(timeout)
        c.loop_stop()
        c.disconnect()
        return got[0] if got else None


class SignedSubscriber(h.Subscriber):
    """The harness's subscriber, keeping the data payloads as they came: they are SignedBatches here."""

    def _on_message(self, client, userdata, msg):
        with self._cond:
            if msg.topic.endswith("/status"):
                self.status.append(msg.payload.decode())
            else:
                self.payloads.append(bytes(msg.payload))
            self._cond.notify_all()


enterprise = h.Mosquitto(h.free_port(), d, persistent=True).start()
hub_port = h.free_port()
hub = h.Mosquitto(hub_port, d, persistent=True, conf=hub_config(hub_port, enterprise.port))
hub.start(timeout=15)
# The consumer at the enterprise keeps a persistent session: what the enterprise broker accepted
# while the consumer is connected or not is delivered to it.
far = SignedSubscriber(enterprise.port, persistent=True)
# An HMI on the site with a persistent session too: tells the test what the hub holds, across the
# hub's restart (its client reconnects by itself).
near = SignedSubscriber(hub.port, persistent=True)

gw_key = h.keygen(d, "gateway")
with open(f"{gw_key}.pub", "rb") as f:
    public_key = serialization.load_pem_public_key(f.read())

line = h.PtyPair(d, "met")
bus = h.PtyPair(d, "bus")
meter_port = h.writable_meter(d, bus)
cfg = h.line_config(d, hub.port, line.gateway_end, max_delay="50ms",
                    extra_ports=meter_port)
with open(cfg, "a") as f:
    f.write(f"signing:\n  key_file: {gw_key}.key\ncommands:\n  enabled: true\n")
gw = h.Gateway(cfg, d).start()
records = h.NumberedRecords(line)


def unwrap(payloads):
    """Every payload verified with the gateway's public key and decoded: the batches, in arrival order."""
    batches = []
    for p in payloads:
        s = loopgate_pb2.SignedBatch()
        s.ParseFromString(p)
        public_key.verify(s.signature, s.batch)  # raises InvalidSignature
        b = loopgate_pb2.Batch()
        b.ParseFromString(s.batch)
        batches.append(b)
    return batches


def record_numbers(sub):
    with sub._cond:
        payloads = list(sub.payloads)
    return {r.int_value for b in unwrap(payloads) for r in b.readings if r.metric == "record"}


def has_records(sub, n):
    return lambda s: set(range(1, n + 1)) <= record_numbers(sub)


try:
    records.feed(20)
    far.wait_for(has_records(far, 20), 60, "records 1-20 at the enterprise")
    with far._cond:
        before_cut = len(far.payloads)
    print("before the cut: 20 records at the enterprise")

    enterprise.stop()
    records.feed(20)  # 21-40 queue in the hub for the enterprise
    near.wait_for(has_records(near, 40), 60, "records 21-40 at the hub")
    hub.stop(timeout=20)  # SIGTERM with a queue for the enterprise: it is saved at exit
    records.feed(20)  # 41-60 wait in the gateway's store while the hub restarts
    hub.start(timeout=15)
    near.wait_for(has_records(near, 60), 60, "records 41-60 at the restarted hub")
    print("during the cut: 40 records went to the hub, which was restarted in between")

    enterprise.start()
    far.wait_for(has_records(far, 60), 120, "records 1-60 at the enterprise after the cut")
    with far._cond:
        payloads = list(far.payloads)
    batches = unwrap(payloads)  # every one verifies after two hops
    delivery = h.Delivery(batches)
    assert delivery.records == set(range(1, 61)), sorted(set(range(1, 61)) - delivery.records)
    assert not delivery.order_violations, delivery.order_violations
    # Per stream (live, and replayed from the store) the batches keep the order the gateway gave
    # them while the hub runs: batch ids increase, a repeat (at-least-once) aside. Live and replayed
    # interleave. Across the hub's restart mosquitto 2.0.11 does not keep it: a batch that reached
    # the restarted hub can go out to the enterprise before the queue it saved at exit (seen once
    # under ASan: 44 before 19-43), so after the cut the test counts what came out of order (README,
    # "Two hops": consumers de-duplicate by a set of recent ids, not by the highest).
    def out_of_order(part):
        late = 0
        for historical in (False, True):
            stream = [b.batch_sequence for b in part if b.historical == historical]
            firsts = [i for k, i in enumerate(stream) if i not in stream[:k]]
            late += sum(1 for k, i in enumerate(firsts) if i < max(firsts[:k], default=0))
        return late
    assert out_of_order(batches[:before_cut]) == 0, [(b.batch_sequence, b.historical) for b in batches[:before_cut]]
    reordered = out_of_order(batches)
    assert {b.batch_sequence for b in batches} == set(range(1, max(b.batch_sequence for b in batches) + 1)), \
        "a batch id is missing at the enterprise"
    print(f"after the cut: {len(batches)} signed batches verified at the enterprise, "
          f"{delivery.duplicate_batches} repeated, {reordered} after a later one, records 1-60 in order")

    # Generous: under ASan on a loaded machine the catalog's republish (paced, at most every 5 s) lags.
    catalog = Retained.get(enterprise.port, "loopgate/test-gw/catalog", timeout=60)
    status = Retained.get(enterprise.port, "loopgate/test-gw/status")
    assert catalog and b'"id":"test-gw"' in catalog and b'"meter"' in catalog, catalog
    assert status and b'"state":"online"' in status, status
    print("catalog and status retained at the enterprise")

    # --- a command from the enterprise, through both hops, to the pymodbus meter and back ---
    replies = h.ReplyCollector(enterprise.port, "loopgate/test-gw/cmd", "loopgate/test-gw/cmd/reply",
                               loopgate_pb2.CommandResult, lambda r: r.id, name="far-cmd")
    far.wait_for(lambda s: any(r.device == "meter" and r.metric == "setpoint" for r in s.readings()) or
                 any(r.device == "meter" and r.metric == "setpoint" for b in unwrap(list(s.payloads)) for r in b.readings),
                 60, "the meter's readings at the enterprise")
    c = loopgate_pb2.Command(id="far-1", device="meter", point="setpoint", double_value=42.5,
                             expires_ns=time.time_ns() + 60 * 10**9)
    # The bridge subscribes on the enterprise once connected; resend until the first reply (a
    # repeat of an id is refused as a replay and answered too, never written twice).
    deadline = time.monotonic() + 60
    while replies.count("far-1") == 0 and time.monotonic() < deadline:
        replies.send(c.SerializeToString())
        with replies.cond:
            replies.cond.wait_for(lambda: replies.by_key.get("far-1"), 5)
    r = replies.wait("far-1", timeout=10)
    assert r.status == loopgate_pb2.CommandResult.OK, r
    far.wait_for(lambda s: any(x.device == "meter" and x.metric == "setpoint" and abs(x.double_value - 42.5) < 1e-9
                               for b in unwrap(list(s.payloads)) for x in b.readings), 30,
                 "the new setpoint read back, at the enterprise")
    print("command from the enterprise: OK, and the meter reads 42.5")
    replies.close()
finally:
    code = gw.stop()
far.close()
near.close()
assert code == 0, gw.log_text()
print("PASS")
