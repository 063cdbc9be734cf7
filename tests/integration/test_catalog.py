#!/usr/bin/python3
"""The retained catalog and `loopgate find`, on real parts: mosquitto on a loopback port, the real
gateway reading `loopgate simulate`'s weather sensors and Modbus meter on ptys.

The catalog on <prefix>/<gw>/catalog matches the config (gateway labels, ports, devices with their
address and labels, metrics with unit, type, description, writable and how to command it); it is
published again when the meter comes online and after a reload that adds a device; `find` finds by
unit word, by label, prints latest values with --values and one JSON object per line with --json;
`catalog --clear` removes it."""

import json
import os
import signal
import subprocess
import threading

import paho.mqtt.client as mqtt

import harness as h

d = h.workdir("catalog")
broker = h.Mosquitto(h.free_port(), d).start()
uri = f"tcp://127.0.0.1:{broker.port}"
dev = os.path.join(d, "dev")
sim = h.spawn([h.LOOPGATE, "simulate", "--dir", dev, "--line", "weather", "--line", "roof", "--modbus", "meter=3",
               "--interval", "200"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
h.wait_until(lambda: all(os.path.exists(os.path.join(dev, n)) for n in ("weather", "roof", "meter")), 15,
             "the simulated devices")

BASE = f"""
gateway:
  id: north-7
  metrics: off
  labels: {{site: north, area: pumps}}
uplink: {{broker: "{uri}", reconnect_min: 100ms, reconnect_max: 1s, batch: {{max_delay: 50ms}}}}
store: {{path: {d}/store.db}}
commands: {{enabled: true}}
ports:
  - name: weather
    path: {dev}/weather
    driver: line
    settings: {{terminator: "\\r\\n", fields: [{{field: T, metric: air_temperature, unit: degC}}, {{field: H, metric: humidity, unit: "%"}}]}}
    devices: [{{name: ws1, labels: {{cell: yard}}, descriptions: {{air_temperature: "air temperature in the yard"}}}}]
  - name: rs485
    path: {dev}/meter
    driver: modbus-rtu
    report: {{max_silence: 1min}}
    devices:
      - name: meter
        unit: 3
        poll_interval: 200ms
        labels: {{cell: incomer}}
        points:
          - {{name: voltage_l1, table: input, address: 0, type: float32, unit: V, deadband: 0.5}}
          - {{name: setpoint, table: holding, address: 10, type: int16, unit: degC, writable: true, min: 0, max: 90}}
"""
ROOF = f"""  - name: roof
    path: {dev}/roof
    driver: line
    settings: {{terminator: "\\r\\n", fields: [{{field: T, metric: roof_temperature, unit: degC}}]}}
    devices: [{{name: ws2, labels: {{cell: roof}}}}]
"""
cfg = os.path.join(d, "loopgate.yaml")
with open(cfg, "w") as f:
    f.write(BASE)


class Catalogs:
    """Every catalog published on <prefix>/+/catalog, as parsed JSON (retained copies too)."""

    def __init__(self):
        self.seen = []
        self.cond = threading.Condition()
        self.client = mqtt.Client(client_id=f"test-catalogs-{os.getpid()}")
        self.client.on_message = self.on_message
        ready = threading.Event()
        self.client.on_connect = lambda c, *_: c.subscribe("loopgate/+/catalog", 1)
        self.client.on_subscribe = lambda *_: ready.set()
        self.client.connect("127.0.0.1", broker.port)
        self.client.loop_start()
        assert ready.wait(10)

    def on_message(self, client, userdata, msg):
        with self.cond:
            try:
                self.seen.append((msg.retain, json.loads(msg.payload) if msg.payload else None))
            except ValueError:
                pass  # the junk this test publishes itself
            self.cond.notify_all()

    def wait(self, predicate, timeout, what):
        with self.cond:
            if not self.cond.wait_for(lambda: any(c and predicate(c) for _, c in self.seen), timeout):
                raise AssertionError(f"no catalog {what} within {timeout}s; last: {self.seen[-1:] if self.seen else None}")
            return [c for _, c in self.seen if c and predicate(c)][-1]


def device(catalog, name):
    found = [x for x in catalog["devices"] if x["name"] == name]
    return found[0] if found else None


def metric(dev, name):
    found = [m for m in dev["metrics"] if m["name"] == name]
    assert found, f"no metric {name} in {dev}"
    return found[0]


catalogs = Catalogs()
gw = h.Gateway(cfg, d).start()
try:
    # --- the catalog against the config ---
    c = catalogs.wait(lambda c: device(c, "meter"), 30, "with the meter")
    assert c["schema"] == 1
    assert c["gateway"]["id"] == "north-7" and c["gateway"]["labels"] == {"site": "north", "area": "pumps"}, c["gateway"]
    assert c["gateway"]["config_version"] == 0 and len(c["gateway"]["config_sha256"]) == 64
    assert [(p["name"], p["driver"], p["path"]) for p in c["ports"]] == [
        ("weather", "line", f"{dev}/weather"), ("rs485", "modbus-rtu", f"{dev}/meter")], c["ports"]
    assert c["topics"]["data"] == "loopgate/north-7/data" and c["topics"]["command"] == "loopgate/north-7/cmd"
    ws1, meter = device(c, "ws1"), device(c, "meter")
    assert ws1["labels"] == {"cell": "yard"} and meter["labels"] == {"cell": "incomer"}
    assert meter["address"] == {"unit": 3} and meter["port"] == "rs485"
    t = metric(ws1, "air_temperature")
    assert (t["unit"], t["type"], t["description"], t["writable"]) == ("degC", "double", "air temperature in the yard", False), t
    assert metric(ws1, "humidity")["unit"] == "%"
    v = metric(meter, "voltage_l1")
    assert v["unit"] == "V" and v["report"] == {"deadband": 0.5, "max_silence_ms": 60000} and not v["writable"], v
    sp = metric(meter, "setpoint")
    assert sp["writable"] and sp["min"] == 0 and sp["max"] == 90, sp
    assert sp["command"] == {"topic": "loopgate/north-7/cmd", "device": "meter", "point": "setpoint",
                             "payload": "loopgate.v1.Command", "reply_topic": "loopgate/north-7/cmd/reply"}, sp
    print("catalog matches the config")

    # --- republished when the meter is seen online (a change of state, paced) ---
    catalogs.wait(lambda c: (device(c, "meter") or {}).get("online") is True, 30, "with the meter online")
    print("catalog republished with the meter online")

    # --- a reload that adds a port and its device ---
    with open(cfg, "w") as f:
        f.write(BASE + ROOF)
    gw.proc.send_signal(signal.SIGHUP)
    c = catalogs.wait(lambda c: device(c, "ws2"), 30, "with ws2 after the reload")
    assert metric(device(c, "ws2"), "roof_temperature")["unit"] == "degC"
    assert [p["name"] for p in c["ports"]] == ["weather", "rs485", "roof"], c["ports"]
    print("catalog republished after a reload that adds a device")
    # A reload that changes only a description brings no new name and no new state: the reload
    # itself publishes the catalog again.
    with open(cfg, "w") as f:
        f.write((BASE + ROOF).replace("air temperature in the yard", "air temperature, north wall"))
    gw.proc.send_signal(signal.SIGHUP)
    c = catalogs.wait(lambda c: metric(device(c, "ws1"), "air_temperature")["description"] == "air temperature, north wall",
                      30, "with the new description after a reload")
    print("catalog republished after a reload that changes a description")
    # Under churn at most one catalog per few seconds: count what was published live so far.
    live = [x for r, x in catalogs.seen if not r]
    assert len(live) <= 8, f"{len(live)} catalogs published within a minute"

    # A second gateway elsewhere, so that the searches below have something to leave out.
    other = json.loads(json.dumps(c))
    other["gateway"]["id"] = "south-2"
    other["gateway"]["labels"] = {"site": "south"}
    for x in other["devices"]:
        for m in x["metrics"]:
            m["topic"] = "loopgate/south-2/data"
    catalogs.client.publish("loopgate/south-2/catalog", json.dumps(other), qos=1, retain=True).wait_for_publish(5)
    catalogs.client.publish("loopgate/junk/catalog", b"\xff degC, not json", qos=1, retain=True).wait_for_publish(5)

    def find(*args, timeout=60):
        p = subprocess.run([h.LOOPGATE, "find", *args, "--broker", uri, "--timeout", "20"], capture_output=True,
                           text=True, timeout=timeout)
        return p.returncode, [line for line in p.stdout.splitlines() if line], p.stderr

    # --- find by a unit word: every temperature-like degC metric, on both gateways ---
    code, lines, err = find("degc")
    rows = sorted(tuple(line.split("\t")) for line in lines)
    expect = sorted((g, dv, m, "degC", f"loopgate/{g}/data") for g in ("north-7", "south-2")
                    for dv, m in (("ws1", "air_temperature"), ("meter", "setpoint"), ("ws2", "roof_temperature")))
    assert code == 0 and rows == expect, (code, rows, err)
    assert "not a catalog" in err and "after a quiet interval" in err, err
    print(f"find degc: {len(rows)} lines, the junk catalog reported on stderr")

    # --- every temperature of one site, by label ---
    code, lines, err = find("temperature", "--label", "site=north")
    rows = sorted(tuple(line.split("\t")[:3]) for line in lines)
    assert rows == [("north-7", "ws1", "air_temperature"), ("north-7", "ws2", "roof_temperature")], (rows, err)
    code, lines, err = find("--label", "cell=incomer", "--label", "site=north")
    assert sorted(line.split("\t")[2] for line in lines) == ["setpoint", "voltage_l1"], lines
    code, lines, err = find("temperature", "--label", "site=east")
    assert code == 1 and lines == [], (code, lines)
    print("find by label: one site's temperatures; nothing for an unknown site (exit 1)")

    # --- --values: the latest reading of each match, from its data topic ---
    code, lines, err = find("voltage", "--label", "site=north", "--values")
    assert code == 0 and len(lines) == 1, (lines, err)
    cols = lines[0].split("\t")
    assert cols[:3] == ["north-7", "meter", "voltage_l1"] and "meter/voltage_l1 = " in cols[5] and " V" in cols[5], cols
    print("find --values:", cols[5])

    # --- --json: one object per line ---
    code, lines, err = find("temperature", "--label", "site=north", "--json", "--values")
    objs = [json.loads(line) for line in lines]
    assert sorted(o["metric"] for o in objs) == ["air_temperature", "roof_temperature"], objs
    for o in objs:
        assert o["gateway"] == "north-7" and o["unit"] == "degC" and o["topic"] == "loopgate/north-7/data", o
        assert isinstance(o["value"], float) and o["time"] > 0 and o["quality"] == "good", o
        assert o["labels"]["site"] == "north"
    assert [o["description"] for o in objs if o["metric"] == "air_temperature"] == ["air temperature, north wall"]
    print("find --json --values:", objs[0])
finally:
    code = gw.stop()
assert code == 0, gw.log_text()

# --- a retired gateway's catalog is removed ---
r = subprocess.run([h.LOOPGATE, "catalog", "--clear", "--gateway", "north-7", "--broker", uri], capture_output=True,
                   text=True, timeout=30)
assert r.returncode == 0, r.stderr
r = subprocess.run([h.LOOPGATE, "catalog", "--gateway", "north-7", "--broker", uri, "--timeout", "1"],
                   capture_output=True, text=True, timeout=30)
assert r.returncode == 1 and "no catalog retained" in r.stderr, (r.returncode, r.stdout, r.stderr)
r = subprocess.run([h.LOOPGATE, "find", "--label", "site=north", "--broker", uri, "--timeout", "20"],
                   capture_output=True, text=True, timeout=60)
assert r.returncode == 1 and r.stdout == "", r.stdout
print("catalog --clear: north-7 no longer found")
catalogs.client.loop_stop()
print("PASS")
