"""Names a device invents are bounded (README "Names a device invents"): an NMEA talker on a pty sends
XDR sentences naming 3,000 transducers nobody configured, each a metric `xdr.<name>`. With the port's
`max_metrics: 50` the first 50 names reach the broker and the status page, and keep updating; the
other 2,950 readings are dropped at the port, counted (the driver's `metrics_over_limit`,
loopgate_names_over_limit_total) and logged once; /api/status stays a few kilobytes (without the
bound every name stayed there forever: 742,000 names made it 104 MB). Then the same flood with
`uplink.format: sparkplug`: the device's births define the 50 admitted metrics and no more, and the
flood of new names causes no rebirths beyond the few that bring admitted names."""

import json
import os
import threading
import urllib.request

import paho.mqtt.client as mqtt

import harness as h
import sparkplug_b_pb2

LIMIT = 50
NAMES = [f"T{i:04d}" for i in range(3000)]


def xdr(names, value):
    body = "IIXDR," + ",".join(f"C,{value:.1f},C,{n}" for n in names)
    checksum = 0
    for c in body.encode():
        checksum ^= c
    return f"${body}*{checksum:02X}\r\n".encode()


d = h.workdir("device-names")
broker = h.Mosquitto(h.free_port(), d).start()
sub = h.Subscriber(broker.port)
line = h.PtyPair(d, f"xdr-names-{os.getpid()}")
http_port = h.free_port()
cfg = h.write_config(d, broker.port, f"""  - name: sounder
    path: {line.gateway_end}
    baud: 38400
    driver: nmea0183
    max_metrics: {LIMIT}
    devices: [{{name: boat}}]
""")
with open(cfg) as f:
    text = f.read()
with open(cfg, "w") as f:
    f.write(text.replace("metrics: off", f"metrics: 127.0.0.1:{http_port}"))
gw = h.Gateway(cfg, d).start()
base = f"http://127.0.0.1:{http_port}"


def get(path):
    with urllib.request.urlopen(base + path, timeout=10) as r:
        return r.read()


def port_counters():
    doc = json.loads(get("/api/status"))
    return next(p for p in doc["ports"] if p["name"] == "sounder")["counters"]


try:
    # Four transducers a sentence; then the first ten names again with a new value.
    sentences = [xdr(NAMES[i:i + 4], 20.0) for i in range(0, len(NAMES), 4)]
    line.write(b"".join(sentences))
    line.write(xdr(NAMES[:4], 21.0) + xdr(NAMES[4:8], 21.0) + xdr(NAMES[8:10], 21.0))
    total = len(sentences) + 3

    counters = h.wait_until(lambda: (c := port_counters())["sentences"] >= total and c, 60,
                            f"the gateway to read all {total} sentences")
    assert counters["decoded"] == total, counters
    assert counters["metrics_over_limit"] == len(NAMES) - LIMIT, counters

    # Every admitted reading reaches the broker: 50 first values and 10 updates.
    def xdr_readings(s):
        return [r for r in s.readings() if r.metric.startswith("xdr.")]

    sub.wait_for(lambda s: len(xdr_readings(s)) >= LIMIT + 10, 30, "the admitted readings at the broker")
    got = xdr_readings(sub)
    assert len(got) == LIMIT + 10, len(got)
    assert {r.metric for r in got} == {f"xdr.{n}" for n in NAMES[:LIMIT]}, sorted({r.metric for r in got})
    updated = {r.metric for r in got if r.double_value == 21.0}
    assert updated == {f"xdr.{n}" for n in NAMES[:10]}, sorted(updated)

    # The status page holds the admitted names only, and stays small.
    body = get("/api/status")
    doc = json.loads(body)
    values = [v for v in doc["values"] if v["device"] == "boat"]
    assert len(values) == LIMIT, len(values)
    assert {v["metric"] for v in values} == {f"xdr.{n}" for n in NAMES[:LIMIT]}
    assert len(body) < 64 * 1024, f"/api/status is {len(body)} bytes"

    metrics = get("/metrics").decode()
    assert f"loopgate_names_over_limit_total {len(NAMES) - LIMIT}" in metrics, \
        [l for l in metrics.splitlines() if "names" in l]
    assert 'loopgate_driver_events_total{port="sounder",counter="metrics_over_limit"} 2950' in metrics

    # One warning for the whole flood, naming the setting and the counter.
    said = [l for l in gw.log_text().splitlines() if "max_metrics" in l]
    assert len(said) == 1, said
    assert "metrics_over_limit" in said[0] and f"xdr.{NAMES[LIMIT]}" in said[0], said

    assert gw.stop() == 0
    print(f"ok: {LIMIT} of {len(NAMES)} names published and shown, {len(NAMES) - LIMIT} counted, "
          f"one log line, /api/status {len(body)} bytes")
finally:
    if gw.proc.poll() is None:
        gw.stop()
    sub.close()
    line.close()
    broker.stop()


# --- the same flood under Sparkplug B ---------------------------------------------------------------
d = h.workdir("device-names-sparkplug")
broker = h.Mosquitto(h.free_port(), d).start()
line = h.PtyPair(d, f"xdr-spb-{os.getpid()}")
births, data = [], []
got_all = threading.Condition()


def on_message(client, userdata, msg):
    with got_all:
        (births if "/DBIRTH/" in msg.topic else data if "/DDATA/" in msg.topic else []).append(bytes(msg.payload))
        got_all.notify_all()


spb = mqtt.Client(client_id=f"test-spb-{os.getpid()}")
spb.on_message = on_message
subscribed = threading.Event()
spb.on_connect = lambda client, *_: client.subscribe("spBv1.0/plant/#", 1)
spb.on_subscribe = lambda *_: subscribed.set()
spb.connect("127.0.0.1", broker.port)
spb.loop_start()
assert subscribed.wait(10), "the Sparkplug subscriber could not subscribe"
cfg = h.write_config(d, broker.port, f"""  - name: sounder
    path: {line.gateway_end}
    baud: 38400
    driver: nmea0183
    max_metrics: {LIMIT}
    devices: [{{name: boat}}]
""")
with open(cfg) as f:
    text = f.read()
with open(cfg, "w") as f:
    f.write(text.replace(f"uplink: {{broker: tcp://127.0.0.1:{broker.port}}}",
                         f"uplink: {{broker: tcp://127.0.0.1:{broker.port}, format: sparkplug, "
                         "sparkplug: {group_id: plant}}"))
gw = h.Gateway(cfg, d).start()
try:
    line.write(b"".join(sentences))
    line.write(xdr(NAMES[:4], 21.0) + xdr(NAMES[4:8], 21.0) + xdr(NAMES[8:10], 21.0))

    def data_metrics():
        n = 0
        for payload in data:
            p = sparkplug_b_pb2.Payload()
            p.ParseFromString(payload)
            n += len(p.metrics)
        return n

    with got_all:
        assert got_all.wait_for(lambda: data_metrics() >= LIMIT + 10, 60), \
            f"{data_metrics()} DDATA metrics, expected {LIMIT + 10}"
    last_birth = sparkplug_b_pb2.Payload()
    last_birth.ParseFromString(births[-1])
    assert sorted(m.name for m in last_birth.metrics) == sorted(f"xdr.{n}" for n in NAMES[:LIMIT]), \
        sorted(m.name for m in last_birth.metrics)
    assert len({m.alias for m in last_birth.metrics}) == LIMIT
    # A birth only for a batch that brought admitted names: at most one per sentence holding them.
    assert 1 <= len(births) <= LIMIT // 4 + 1, f"{len(births)} DBIRTHs for {len(sentences)} sentences"
    assert data_metrics() == LIMIT + 10, data_metrics()
    assert gw.stop() == 0
    print(f"ok: sparkplug, {len(births)} DBIRTHs defining {LIMIT} metrics for {len(NAMES)} names")
finally:
    if gw.proc.poll() is None:
        gw.stop()
    spb.loop_stop()
    spb.disconnect()
    line.close()
    broker.stop()
