"""AIS on a real line: a public AIS capture (../shared/fieldtruth/gpsd-ais) played into a socat pty at
38,400 baud, the real gateway with the nmea0183 driver, a real mosquitto. Every position and ship name
gpsd decoded from the capture arrives at the broker on the vessel's own device, ais-<MMSI>, in
degrees; and once the line falls silent, every vessel heard goes offline (`online: false`) after the
port's offline_after_silence, through the report stage."""

import json
import os
import sys

import harness as h

truth = os.path.join(os.path.dirname(os.path.abspath(h.FIXTURES)), "fieldtruth", "gpsd-ais") if h.FIXTURES else ""
capture = os.path.join(truth, "ais-raw-messages.log")
if not os.path.exists(capture + ".chk"):
    print(f"skip: no field truth at {truth}")
    sys.exit(77)

with open(capture, "rb") as f:
    sentences = [l for l in f.read().splitlines() if l.startswith(b"!")]

# gpsd's decode (unscaled: 1/10,000 minute): the positions and names it reports, per vessel.
expected_positions = set()
expected_names = set()
previous = ""
with open(capture + ".chk", encoding="utf-8") as f:
    for line in f:
        line = line.rstrip("\r\n")
        if not line.startswith("{"):
            previous = line
            continue
        report = json.loads(line)
        if report.get("class") != "AIS" or not previous.startswith("!"):
            continue
        device = f"ais-{report['mmsi']}"
        scale = 600.0 if report["type"] == 27 else 600000.0
        if "lat" in report and abs(report["lat"]) < 91 * scale and abs(report["lon"]) < 181 * scale:
            expected_positions.add((device, round(report["lat"] / scale, 6), round(report["lon"] / scale, 6)))
        if report.get("shipname"):
            expected_names.add((device, report["shipname"]))
assert len(expected_positions) > 50 and len(expected_names) >= 5, (len(expected_positions), len(expected_names))
vessels = {d for d, *_ in expected_positions} | {d for d, _ in expected_names}

d = h.workdir("ais_pty")
broker = h.Mosquitto(h.free_port(), d).start()
sub = h.Subscriber(broker.port)
line = h.PtyPair(d, "ais-transponder")
cfg = h.write_config(d, broker.port, f"""  - name: ais
    path: {line.gateway_end}
    baud: 38400
    driver: nmea0183
    devices: [{{name: own_ship, offline_after_silence: 2s}}]
    settings: {{ais: {{max_vessels: 500}}}}
""")
gw = h.Gateway(cfg, d).start()
try:
    line.write(b"".join(s + b"\r\n" for s in sentences))

    def positions(s):
        lat, lon = {}, {}
        for r in s.readings():
            key = (r.device, r.source_time_ns, r.receive_time_ns)
            if r.metric == "latitude":
                lat.setdefault(key, []).append(r.double_value)
            elif r.metric == "longitude":
                lon.setdefault(key, []).append(r.double_value)
        return {(k[0], round(a, 6), round(b, 6)) for k in lat.keys() & lon.keys() for a, b in zip(lat[k], lon[k])}

    def names(s):
        return {(r.device, r.string_value) for r in s.readings() if r.metric == "ship_name"}

    sub.wait_for(lambda s: expected_positions <= positions(s) and expected_names <= names(s), 60,
                 "every position and ship name gpsd decoded")
    units = {(r.metric, r.unit) for r in sub.readings() if r.device.startswith("ais-")}
    assert ("latitude", "deg") in units and ("speed_over_ground", "m/s") in units, units

    def offline(s):
        return {r.device for r in s.readings() if r.metric == "online" and r.HasField("bool_value")
                and not r.bool_value}

    # The line is silent now: every vessel goes offline 2 s after it was last heard.
    sub.wait_for(lambda s: vessels <= offline(s), 30, "every vessel offline after the silence")
    assert gw.stop() == 0
finally:
    if gw.proc.poll() is None:
        gw.stop()
    sub.close()
    line.close()
    broker.stop()
print(f"ok: {len(expected_positions)} positions and {len(expected_names)} names of {len(vessels)} vessels "
      f"at the broker, all offline after the silence")
