"""Three M-Bus meters on a pty, answering with real meters' recorded frames (libmbus's test frames),
read by the gateway's mbus master and published to a real mosquitto: a Kamstrup Multical 601 at
primary address 17, a Landis+Gyr Ultraheat T230 selected by its identification number, and a
Sontex Supercal 531 whose answer says "more records follow" (a multi-telegram readout capped at
max_telegrams). The values the subscriber receives are libmbus's normalized values, read from its
XML at run time."""

import os
import subprocess
import xml.etree.ElementTree as ET

import harness as h
import mbus_meter

QUANTITY_METRIC = {
    "Energy": "energy", "Volume": "volume", "Power": "power", "Volume flow": "volume_flow",
    "Flow temperature": "flow_temperature", "Return temperature": "return_temperature",
    "Temperature difference": "temperature_difference", "On time": "on_time",
    "Operating time": "operating_time", "Fabrication No": "fabrication_number",
}
UNITS = {"Wh": "Wh", "m^3": "m3", "W": "W", "m^3/h": "m3/h", "°C": "degC", "K": "K", "s": "s", "": ""}
FUNCTION = {"Instantaneous value": "", "Maximum value": "_max", "Minimum value": "_min",
            "Value during error state": "_at_error"}


def libmbus_expected(name):
    """metric -> (value, unit) for the records of libmbus's normalized XML whose name is unique."""
    path = os.path.join(mbus_meter.FIELDTRUTH, "test-frames", name + ".norm.xml")
    root = ET.fromstring(open(path, "rb").read().decode("utf-8").replace("ISO-8859-1", "UTF-8").encode())
    seen, out = {}, {}
    for r in root.findall("DataRecord"):
        q, unit, fn = r.findtext("Quantity"), r.findtext("Unit"), r.findtext("Function")
        if q not in QUANTITY_METRIC or unit not in UNITS or fn not in FUNCTION:
            continue
        metric = QUANTITY_METRIC[q] + FUNCTION[fn]
        for tag, prefix in (("StorageNumber", "_s"), ("Tariff", "_t"), ("Device", "_u")):
            n = int(r.findtext(tag) or 0)
            if n:
                metric += f"{prefix}{n}"
        seen[metric] = seen.get(metric, 0) + 1
        out[metric] = (float(r.findtext("Value")), UNITS[unit])
    return {m: v for m, v in out.items() if seen[m] == 1}


kamstrup = mbus_meter.frame("kamstrup_multical_601")
landis = mbus_meter.frame("landis+gyr_ultraheat_t230")
sontex = mbus_meter.frame("sontex_supercal_531_telegram1")

d = h.workdir("mbus")
broker = h.Mosquitto(h.free_port(), d).start()
sub = h.Subscriber(broker.port)
line = h.PtyPair(d, "mbus")
line.close_sensor_side()
meters = [mbus_meter.Meter([kamstrup], address=17),
          mbus_meter.Meter([landis], secondary=True),
          mbus_meter.Meter([sontex, sontex, sontex, sontex], address=1)]
bus = mbus_meter.Bus(line.sensor_end, meters)
cfg = h.write_config(d, broker.port, f"""  - name: mbus
    path: {line.gateway_end}
    driver: mbus
    settings: {{response_timeout: 2s, retries: 2}}
    devices:
      - {{address: 17, poll_interval: 1h}}
      - {{secondary: "{mbus_meter.identification(landis)}", poll_interval: 1h}}
      - {{address: 1, name: sontex, poll_interval: 1h, max_telegrams: 3}}
""")
# An mbus port without baud or parity runs at EN 13757-2's 2400 baud 8E1.
check = subprocess.run([h.LOOPGATE, "check-config", cfg], capture_output=True, text=True)
assert check.returncode == 0 and "at 2400 baud, driver mbus" in check.stdout + check.stderr, check
gw = h.Gateway(cfg, d).start()

checks = {"mbus-06855817": libmbus_expected("kamstrup_multical_601"),
          "mbus-66660205": libmbus_expected("landis+gyr_ultraheat_t230"),
          "sontex": libmbus_expected("sontex_supercal_531_telegram1")}
for device, expected in checks.items():
    assert len(expected) >= 5, f"{device}: too few records to compare"


def have_all(s):
    got = {(r.device, r.metric) for r in s.readings()}
    return all((dev, m) in got for dev, exp in checks.items() for m in exp)


sub.wait_for(have_all, 90, "every meter's records")
latest = {(r.device, r.metric): r for r in sub.readings()}
compared = 0
for device, expected in checks.items():
    for metric, (value, unit) in expected.items():
        r = latest[(device, metric)]
        got = r.double_value if r.WhichOneof("value") == "double_value" else float(r.int_value)
        assert abs(got - value) <= max(1e-6, abs(value) * 1e-9), f"{device} {metric}: {got}, libmbus {value}"
        assert r.unit == unit, f"{device} {metric}: unit {r.unit!r}, libmbus {unit!r}"
        compared += 1

# The Sontex said "more records follow" every time: exactly three REQ_UD2, the FCB toggled each time.
sontex_meter = meters[2]
h.wait_until(lambda: len(sontex_meter.requests) >= 3, 30, "the Sontex's three telegrams")
fcbs = [c & 0x20 for c, _ in sontex_meter.requests[:3]]
assert fcbs == [0x20, 0x00, 0x20], fcbs
assert len(sontex_meter.requests) == 3, sontex_meter.requests
# The selection used the Landis+Gyr's identification number, and each meter was reset first.
assert ("long", 0x53, 0xFD, 0x52) in bus.log, bus.log
assert ("short", 0x40, 17) in bus.log and ("short", 0x40, 1) in bus.log, bus.log

assert gw.stop() == 0
bus.stop()
sub.close()
line.close()
broker.stop()
print(f"ok: {compared} records of 3 meters equal libmbus's, multi-telegram and secondary selection")
