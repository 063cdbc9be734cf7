"""Names a device invents are bounded (README "Names a device invents"): an NMEA talker on a pty sends
XDR sentences naming 3,000 transducers nobody configured, each a metric `xdr.<name>`. With the port's
`max_metrics: 50` the first 50 names reach the broker and the status page, and keep updating; the
other 2,950 readings are dropped at the port, counted (the driver's `metrics_over_limit`,
loopgate_names_over_limit_total) and logged once; /api/status stays a few kilobytes (without the
bound every name stayed there forever: 742,000 names made it 104 MB)."""

import json
import os
import urllib.request

import harness as h

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
