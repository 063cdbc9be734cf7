"""Sparkplug B edge node (uplink.format: sparkplug), checked with an independent implementation:
every payload the gateway publishes is decoded by Eclipse Tahu's JavaScript sparkplug-payload
(tests/integration/sparkplug/, installed with `npm ci` when node_modules is missing), and the commands
the test sends are encoded by it.

Real mosquitto, a socat pty playing a line sensor, the real binary. Checks: NBIRTH first (seq 0,
bdSeq, Node Control/Rebirth); DBIRTH with every metric, datatype, alias and engUnit before DDATA;
DDATA by alias only; seq +1 mod 256 across the node's messages; primary host STATE offline holds data
in the store and online brings births then the held data flagged is_historical; NCMD Rebirth; NDEATH
as the will with the session's bdSeq on kill -9; bdSeq advanced after a restart."""

import base64
import json
import os
import shutil
import signal
import subprocess
import sys
import threading
import time

import paho.mqtt.client as mqtt

import harness

HERE = os.path.dirname(os.path.abspath(__file__))
TOOL = os.path.join(HERE, "sparkplug")
GROUP, NODE, HOST = "plant", "test-gw", "scada"


def ensure_tool():
    node = shutil.which("node")
    npm = shutil.which("npm")
    if not node or not npm:
        raise SystemExit("test_sparkplug: node and npm are needed (Debian packages nodejs and npm; "
                         "scripts/install-deps.sh installs them)")
    if os.path.isdir(os.path.join(TOOL, "node_modules", "sparkplug-payload")):
        return
    r = subprocess.run([npm, "ci", "--prefix", TOOL, "--no-audit", "--no-fund"], capture_output=True, text=True,
                       timeout=240)
    if r.returncode != 0:
        raise SystemExit("test_sparkplug: `npm ci --prefix tests/integration/sparkplug` failed; the npm registry "
                         "must be reachable once to install Eclipse Tahu's sparkplug-payload.\n" + r.stdout + r.stderr)


def tahu(lines, encode=False):
    args = ["node", os.path.join(TOOL, "decode.js")] + (["encode"] if encode else [])
    r = subprocess.run(args, input="".join(l + "\n" for l in lines), capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    return r.stdout.splitlines()


def decode_all(payloads):
    if not payloads:
        return []
    out = tahu([base64.b64encode(p).decode() for p in payloads])
    return [json.loads(o) for o in out]


def encode(obj):
    return base64.b64decode(tahu([json.dumps(obj)], encode=True)[0])


class Collector:
    """Every message under spBv1.0/#, in arrival order, decoded with Tahu on demand."""

    def __init__(self, port):
        self.raw = []
        self._decoded = []
        self._cond = threading.Condition()
        self.client = mqtt.Client(client_id=f"spb-sub-{os.getpid()}")
        self.client.on_message = self._on_message
        subscribed = threading.Event()
        self.client.on_connect = lambda c, *_: c.subscribe("spBv1.0/#", 1)
        self.client.on_subscribe = lambda *a: subscribed.set()
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        assert subscribed.wait(10), "collector could not subscribe"

    def _on_message(self, client, userdata, msg):
        with self._cond:
            self.raw.append((msg.topic, msg.payload, msg.retain))
            self._cond.notify_all()

    def messages(self):
        """[(kind, device, topic, decoded)] for the edge node's messages (STATE, NCMD, DCMD excluded)."""
        with self._cond:
            raw = list(self.raw)
        todo = raw[len(self._decoded):]
        idx = [i for i, (t, _, _) in enumerate(todo) if "/STATE/" not in t]
        full = [None] * len(todo)
        for i, x in zip(idx, decode_all([todo[i][1] for i in idx])):
            full[i] = x
        self._decoded += full
        out = []
        for (t, _, _), d in zip(raw, self._decoded):
            parts = t.split("/")
            if parts[1] == "STATE" or parts[2] in ("NCMD", "DCMD"):
                continue  # the host's messages, not the node's
            out.append((parts[2], parts[4] if len(parts) > 4 else "", t, d))
        return out

    def wait(self, predicate, timeout, what):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            ms = self.messages()
            if predicate(ms):
                return ms
            time.sleep(0.1)
        ms = self.messages()
        raise AssertionError(f"timed out after {timeout}s waiting for {what}; have {[(k, d) for k, d, _, _ in ms]}")


def metric(d, name):
    return next((m for m in d.get("metrics", []) if m.get("name") == name), None)


def records_in(ms, births_from, historical=None):
    """Record numbers (metric `record`) in DDATA after index births_from, resolved through the aliases
    of the device's latest DBIRTH; with historical=True/False only metrics flagged (or not) so."""
    alias = {}
    out = []
    for kind, dev, _, d in ms:
        if kind == "DBIRTH":
            alias[dev] = {int(m["alias"]): m for m in d["metrics"]}
        elif kind == "DDATA":
            for m in d["metrics"]:
                mdef = alias[dev][int(m["alias"])]
                if mdef["name"] != "record":
                    continue
                if historical is not None and bool(m.get("isHistorical", False)) != historical:
                    continue
                out.append(int(m["raw"]["longValue"]))
    return out


def check_stream(ms):
    """seq: NBIRTH 0, then +1 mod 256 per message; DDATA only after a DBIRTH defining its aliases."""
    seq = None
    defined = {}
    for kind, dev, topic, d in ms:
        assert "error" not in d, (topic, d)
        if kind == "NDEATH":
            assert "seq" not in d, d
            continue
        if kind == "NBIRTH":
            assert d["seq"] == "0", d
            seq = 0
            defined = {}
            continue
        assert seq is not None, f"{kind} before any NBIRTH"
        assert int(d["seq"]) == (seq + 1) % 256, f"{kind} {dev}: seq {d['seq']} after {seq}"
        seq = int(d["seq"])
        if kind == "DBIRTH":
            defined[dev] = {int(m["alias"]) for m in d["metrics"]}
        elif kind == "DDEATH":
            defined.pop(dev, None)
        elif kind == "DDATA":
            assert dev in defined, f"DDATA for {dev} before its DBIRTH"
            for m in d["metrics"]:
                assert "name" not in m, f"DDATA metric with a name: {m}"
                assert int(m["alias"]) in defined[dev], f"DDATA alias {m['alias']} not in the DBIRTH"


def main():
    ensure_tool()
    d = harness.workdir("sparkplug")
    port = harness.free_port()
    broker = harness.Mosquitto(port, d).start()
    pty = harness.PtyPair(d)
    cfg = harness.line_config(d, port, pty.gateway_end)
    with open(cfg) as f:
        text = f.read()
    text = text.replace("uplink:\n", f"uplink:\n  format: sparkplug\n  sparkplug:\n    group_id: {GROUP}\n"
                                     f"    primary_host_id: {HOST}\n", 1)
    with open(cfg, "w") as f:
        f.write(text)

    host = mqtt.Client(client_id=f"spb-host-{os.getpid()}")
    host.connect("127.0.0.1", port)
    host.loop_start()

    def state(online):
        info = host.publish(f"spBv1.0/STATE/{HOST}",
                            json.dumps({"online": online, "timestamp": int(time.time() * 1000)}), qos=1, retain=True)
        info.wait_for_publish(10)

    state(True)
    sub = Collector(port)
    gw = harness.Gateway(cfg, d).start()
    try:
        # --- births, data, aliases, seq -------------------------------------------------------
        ms = sub.wait(lambda ms: any(k == "NBIRTH" for k, *_ in ms), 15, "NBIRTH")
        assert ms[0][0] == "NBIRTH", f"first message is {ms[0][0]}"
        nbirth = ms[0][3]
        assert nbirth["seq"] == "0"
        bdseq = int(metric(nbirth, "bdSeq")["value"])
        assert metric(nbirth, "bdSeq")["type"] == "Int64"
        rebirth = metric(nbirth, "Node Control/Rebirth")
        assert rebirth and rebirth["type"] == "Boolean" and rebirth["value"] is False, nbirth

        for n in range(1, 4):
            pty.write(f"T=21.{n} N={n}\r\n")
        ms = sub.wait(lambda ms: records_in(ms, 0) == [1, 2, 3], 15, "records 1-3 in DDATA")
        kinds = [k for k, *_ in ms]
        assert kinds.index("DBIRTH") < kinds.index("DDATA"), kinds
        dbirth = next(d for k, dev, _, d in ms if k == "DBIRTH")
        assert next(dev for k, dev, *_ in ms if k == "DBIRTH") == "ws1"
        t = metric(dbirth, "air_temperature")
        r = metric(dbirth, "record")
        assert t and t["type"] == "Double" and t["properties"]["engUnit"] == {"type": "String", "value": "degC"}, t
        assert r and r["type"] == "Int64" and "alias" in r, r
        assert t["alias"] != r["alias"]
        ddata = [d for k, _, _, d in ms if k == "DDATA"]
        temps = [m["raw"]["doubleValue"] for dd in ddata for m in dd["metrics"] if m["alias"] == t["alias"]]
        assert temps[:3] == [21.1, 21.2, 21.3], temps
        assert all(int(m["timestamp"]) > 1_600_000_000_000 for dd in ddata for m in dd["metrics"])
        check_stream(ms)
        print(f"births and data ok: bdSeq {bdseq}, {len(ms)} messages")

        # --- NCMD rebirth ------------------------------------------------------------------------
        before = len(ms)
        host.publish(f"spBv1.0/{GROUP}/NCMD/{NODE}",
                     encode({"timestamp": int(time.time() * 1000),
                             "metrics": [{"name": "Node Control/Rebirth", "type": "Boolean", "value": True}]}),
                     qos=1).wait_for_publish(10)
        ms = sub.wait(lambda ms: [k for k, *_ in ms[before:]][:2] == ["NBIRTH", "DBIRTH"], 15, "rebirth")
        assert int(metric(ms[before][3], "bdSeq")["value"]) == bdseq, "a rebirth keeps the session's bdSeq"
        assert {m["name"] for m in ms[before + 1][3]["metrics"]} == {"air_temperature", "record"}
        pty.write("T=22.0 N=4\r\n")
        ms = sub.wait(lambda ms: 4 in records_in(ms, 0), 15, "record 4 after the rebirth")
        check_stream(ms)
        print("NCMD rebirth ok")

        # --- primary host offline: data held; online: births, then the held data as historical ----
        state(False)
        time.sleep(0.5)
        held_from = len(sub.messages())
        for n in range(5, 8):
            pty.write(f"T=23.0 N={n}\r\n")
        time.sleep(1.5)
        ms = sub.messages()
        assert not [k for k, *_ in ms[held_from:] if k == "DDATA"], "DDATA while the primary host is offline"
        assert harness.store_depth(os.path.join(d, "store.db")) > 0, "held data is not in the store"
        state(True)
        ms = sub.wait(lambda ms: set(range(5, 8)) <= set(records_in(ms, 0)), 15, "held records 5-7")
        after = [k for k, *_ in ms[held_from:]]
        assert after[:2] == ["NBIRTH", "DBIRTH"], after
        assert set(records_in(ms, 0, historical=True)) >= {5, 6, 7}, records_in(ms, 0, historical=True)
        check_stream(ms)
        print("primary host hold ok")

        # --- kill -9: NDEATH (the will) with the session's bdSeq; restart: bdSeq advanced ---------
        gw.stop(signal.SIGKILL)
        ms = sub.wait(lambda ms: any(k == "NDEATH" for k, *_ in ms), 15, "NDEATH after kill -9")
        ndeath = next(d for k, _, _, d in ms if k == "NDEATH")
        assert int(metric(ndeath, "bdSeq")["value"]) == bdseq, (ndeath, bdseq)
        before = len(ms)
        gw = harness.Gateway(cfg, d).start()
        ms = sub.wait(lambda ms: any(k == "NBIRTH" for k, *_ in ms[before:]), 15, "NBIRTH after the restart")
        nb2 = next(d for k, _, _, d in ms[before:] if k == "NBIRTH")
        assert int(metric(nb2, "bdSeq")["value"]) == (bdseq + 1) % 256, (nb2, bdseq)
        pty.write("T=24.0 N=8\r\n")
        ms = sub.wait(lambda ms: 8 in records_in(ms, 0), 15, "record 8 after the restart")
        check_stream(ms[before:])
        print("NDEATH will and bdSeq ok")
        before = len(ms)
        assert gw.stop() == 0
        ms = sub.wait(lambda ms: any(k == "NDEATH" for k, *_ in ms[before:]), 15, "NDEATH on SIGTERM")
        nd2 = next(d for k, _, _, d in ms[before:] if k == "NDEATH")
        assert int(metric(nd2, "bdSeq")["value"]) == (bdseq + 1) % 256, nd2
        print("NDEATH on a clean stop ok")
    except BaseException:
        sys.stderr.write(gw.log_text()[-4000:])
        raise
    finally:
        sub.client.loop_stop()
        host.loop_stop()
        pty.close()
        broker.stop()
    print("test_sparkplug: passed")


if __name__ == "__main__":
    main()
