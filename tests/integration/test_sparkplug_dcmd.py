"""Sparkplug B DCMD writes, end to end: a host application writes a metric of a Modbus device, a
pymodbus slave on a socat pty takes the write, and the gateway reads the point back at once and
publishes the new value in DDATA: that DDATA is the write's confirmation (the device is polled only
every 30 s, so nothing else could bring it). DCMD passes the same gate as native commands: a
non-writable point, an out-of-range value and a burst over the per-device rate limit are refused,
logged in the audit trail and counted; nothing reaches the bus for them. The rate limit is ONE bucket
per device for both paths: DCMD writes use up what a native command then finds empty, and back.

Payloads are built and read with protobuf's Python runtime over Eclipse Tahu's schema
(proto/sparkplug_b.proto); test_sparkplug.py checks the gateway's encoding with Tahu's own library."""

import os
import re
import threading
import time
import urllib.request

import paho.mqtt.client as mqtt

import harness as h
import loopgate_pb2
import sparkplug_b_pb2 as spb
from test_commands import Replies

GROUP = "plant"
FLOAT, DOUBLE = 9, 10  # Sparkplug B datatypes

d = h.workdir("dcmd")
broker = h.Mosquitto(h.free_port(), d).start()
bus = h.PtyPair(d, "bus")
meter_port = h.writable_meter(d, bus, poll_interval="30s")
metrics_port = h.free_port()
cfg = os.path.join(d, "loopgate.yaml")
with open(cfg, "w") as f:
    f.write(f"""
gateway: {{id: test-gw, metrics: "127.0.0.1:{metrics_port}"}}
uplink:
  broker: tcp://127.0.0.1:{broker.port}
  format: sparkplug
  sparkplug: {{group_id: {GROUP}}}
  batch: {{max_delay: 50ms}}
store: {{path: {d}/store.db}}
commands: {{enabled: true, rate_limit: 2/s}}
ports:
{meter_port}""")

# The host application: learns the device's aliases from DBIRTH, reads values from DDATA.
aliases, values = {}, {}
cond = threading.Condition()


def on_message(client, userdata, msg):
    kind, device = msg.topic.split("/")[2], msg.topic.split("/")[-1]
    if device != "meter" or kind not in ("DBIRTH", "DDATA"):
        return
    p = spb.Payload()
    p.ParseFromString(msg.payload)
    with cond:
        for m in p.metrics:
            if kind == "DBIRTH":
                aliases[m.alias] = m.name
            name = m.name or aliases.get(m.alias)
            field = m.WhichOneof("value")  # DDATA carries no datatype: the value's field says it
            if field:
                values.setdefault(name, []).append(getattr(m, field))
        cond.notify_all()


host = mqtt.Client(client_id=f"dcmd-host-{os.getpid()}")
host.on_message = on_message
host.on_connect = lambda c, *_: c.subscribe(f"spBv1.0/{GROUP}/+/test-gw/#", 1)
host.connect("127.0.0.1", broker.port)
host.loop_start()
gw = h.Gateway(cfg, d).start()


def wait_value(name, predicate, what, timeout=20):
    with cond:
        assert cond.wait_for(lambda: any(predicate(v) for v in values.get(name, [])), timeout), \
            f"timed out waiting for {what}; {name} = {values.get(name, [])[-5:]}\n{gw.log_text()[-2000:]}"


def dcmd(metric, value, datatype=DOUBLE):
    p = spb.Payload()
    p.timestamp = int(time.time() * 1000)
    m = p.metrics.add()
    m.name, m.datatype = metric, datatype
    m.double_value = value
    host.publish(f"spBv1.0/{GROUP}/DCMD/test-gw/meter", p.SerializeToString(), qos=1).wait_for_publish(5)


def audit(outcome, text=""):
    """The audit lines of DCMD writes to the meter with this outcome."""
    return [l for l in gw.log_text().splitlines()
            if re.search(r"command dcmd dcmd-\d+: meter/", l) and f": {outcome}" in l and text in l]


def refusals(text):
    return audit("refused", text)


wait_value("setpoint", lambda v: abs(v - 10.0) < 1e-6, "the first setpoint reading (10.0)")

sent = time.monotonic()
dcmd("setpoint", 42.5)
# The next poll is 30 s away: only the write's read-back can bring this DDATA.
wait_value("setpoint", lambda v: abs(v - 42.5) < 1e-6, "the written setpoint read back from the slave", timeout=10)
confirmed_in = time.monotonic() - sent
assert confirmed_in < 5, f"the DDATA confirming the write came after {confirmed_in:.1f} s"
h.wait_until(lambda: audit("ok"), 5, "the write's audit line")
assert "meter/setpoint = 42.5 (verify): ok; read back 42.5 in" in audit("ok")[0], audit("ok")

# Not a synchronization: time for the rate limit's bucket (2/s) to refill, so that the refusals
# below are about what they test.
time.sleep(1.1)
dcmd("voltage", 1)
dcmd("setpoint", 500.0)
h.wait_until(lambda: refusals("(driver): point 'voltage' of device 'meter' is not writable") and
             refusals("(driver): point 'setpoint' accepts 0..100"), 10, "the two refusals in the log")

time.sleep(1.1)
accepted_before = len(audit("ok"))
burst = (11.0, 12.0, 13.0, 14.0, 15.0)  # five at once; the bucket holds two (a third may refill meanwhile)
for v in burst:
    dcmd("setpoint", v)


def burst_outcome():
    accepted = len(audit("ok")) - accepted_before
    return accepted, len(refusals("(rate): rate limit"))


h.wait_until(lambda: sum(burst_outcome()) == len(burst), 10, "every write of the burst accepted or refused")
accepted, refused = burst_outcome()
assert refused >= 2 and accepted <= 3, f"{accepted} accepted, {refused} refused by the rate limit"
wait_value("setpoint", lambda v: v in burst, "a write of the burst read back")

# One bucket per device for both paths (2/s, bursts of 2). Two DCMD writes empty it: a native
# command right after is refused for the rate; and the other way round.
replies = Replies(broker.port, "loopgate/test-gw/cmd")


def native(cid, wait=True):
    c = loopgate_pb2.Command(id=cid, device="meter", point="setpoint", double_value=20.0,
                             expires_ns=time.time_ns() + 10_000_000_000)
    replies.send(c.SerializeToString())
    return replies.wait(cid) if wait else None


time.sleep(1.1)  # not a synchronization: the bucket refills
rate_refusals = len(refusals("(rate)"))
dcmd("setpoint", 21.0)
dcmd("setpoint", 22.0)
r = native("after-two-dcmd")
assert r.status == loopgate_pb2.CommandResult.REFUSED and "rate limit" in r.error, r
time.sleep(1.1)
native("first-native", wait=False)
native("second-native", wait=False)
dcmd("setpoint", 23.0)
assert replies.wait("first-native").status == loopgate_pb2.CommandResult.OK
assert replies.wait("second-native").status == loopgate_pb2.CommandResult.OK
h.wait_until(lambda: refusals("meter/setpoint = 23 (verify): refused (rate)"), 10,
             "the DCMD after two native commands refused for the rate")

metrics = urllib.request.urlopen(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).read().decode()
count = dict(re.findall(r"^(loopgate_commands\S+) (\S+)$", metrics, re.M))
assert float(count['loopgate_commands_refused_total{reason="driver"}']) == 2, metrics
assert float(count['loopgate_commands_refused_total{reason="rate"}']) == len(refusals("(rate)")) + 1, metrics

replies.client.loop_stop()
assert gw.stop() == 0
with cond:
    seen = values["setpoint"]
assert not any(abs(v - 500.0) < 1e-6 for v in seen), "an out-of-range write reached the device"
assert len({v for v in seen if v in burst}) <= accepted, "more burst values reached the device than were accepted"
assert all(v == 230 for v in values["voltage"]), "a non-writable point changed"
print(f"ok: DCMD write confirmed by DDATA in {confirmed_in:.2f} s; not writable, out of range and "
      f"{len(refusals('(rate)'))} over-rate writes refused; one rate limit for DCMD and native commands")
host.loop_stop()
bus.close()
broker.stop()
