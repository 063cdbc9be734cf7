"""A recorded GPS capture played into a pty at 4800 and at 38400 baud reaches the subscriber as a
position: latitude, longitude and altitude with the fix time, equal to `loopgate decode` of the same
capture, which the driver tests compare with gpsd's own decoding."""

import os
import subprocess

import harness as h

capture = os.path.join(h.FIXTURES, "nmea", "bu353s4.log")
with open(capture, "rb") as f:
    sentences = [l for l in f.read().splitlines(keepends=True) if l.startswith(b"$")]
decoded = [l for l in subprocess.run([h.LOOPGATE, "decode", "--driver", "nmea0183"], input=b"".join(sentences),
                                     capture_output=True, check=True).stdout.decode().splitlines()]
import json
expected = [json.loads(l) for l in decoded]
expected_fix = {(r["metric"], r["source_time"]): r["value"] for r in expected
                if r["metric"] in ("latitude", "longitude", "altitude") and r["source_time"]}
assert len(expected_fix) > 30, "the capture should hold many fixes"

for baud in (4800, 38400):
    d = h.workdir(f"nmea{baud}")
    broker = h.Mosquitto(h.free_port(), d).start()
    sub = h.Subscriber(broker.port)
    line = h.PtyPair(d, "gps")
    cfg = h.write_config(d, broker.port, f"""  - name: gps
    path: {line.gateway_end}
    baud: {baud}
    driver: nmea0183
    devices: [{{name: gps1}}]
""")
    gw = h.Gateway(cfg, d).start()
    line.write(b"".join(sentences))

    def fixes(s):
        return {(r.metric, r.source_time_ns): r.double_value for r in s.readings()
                if r.metric in ("latitude", "longitude", "altitude") and r.source_time_ns}

    sub.wait_for(lambda s: len(fixes(s)) >= len(expected_fix), 30, f"every fix at {baud} baud")
    got = fixes(sub)
    assert got == expected_fix, f"{baud} baud: fixes differ from decode"
    units = {r.metric: r.unit for r in sub.readings()}
    assert units["latitude"] == "deg" and units["altitude"] == "m", units
    assert gw.stop() == 0
    sub.close()
    line.close()
    broker.stop()
    print(f"ok: {len(got)} fix values at {baud} baud")
