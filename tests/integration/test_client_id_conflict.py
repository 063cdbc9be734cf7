"""Two gateways configured with the same uplink.client_id on one broker take each other's session over,
over and over. Each detects it and logs ONE clear error naming the client id, and shows it in
/api/status, /metrics, the status document and `loopgate status`. With MQTT 3.1.1 the broker just
closes the connection right after each connect. With MQTT 5 a broker may say why (DISCONNECT reason
0x8E, session taken over; unit-tested in test_broker_failover.cpp), but Debian 12's mosquitto 2.0.11
closes the old connection before that packet reaches the client (Paho reports "connection lost"), so
both versions are caught here by the pattern. Real mosquitto, two real gateways on their own pty
lines."""

import json
import os
import subprocess
import urllib.request

import harness as h

CLIENT_ID = "shared-id"
ERROR = f"using client id '{CLIENT_ID}'"


def gateway(d, port, name, version):
    line = h.PtyPair(d, f"{name}-{port}")
    http = h.free_port()
    gw_dir = os.path.join(d, name)
    os.makedirs(gw_dir)
    cfg = h.line_config(gw_dir, port, line.gateway_end, metrics=f"127.0.0.1:{http}",
                        uplink_extra=f"client_id: {CLIENT_ID}\nmqtt_version: \"{version}\"")
    with open(cfg) as f:
        text = f.read().replace("id: test-gw", f"id: {name}")
    with open(cfg, "w") as f:
        f.write(text)
    return h.Gateway(cfg, gw_dir).start(), line, f"http://127.0.0.1:{http}"


def api_status(base):
    with urllib.request.urlopen(base + "/api/status", timeout=5) as r:
        return json.load(r)["uplink"]


def run(version, d):
    broker = h.Mosquitto(h.free_port(), d).start()
    sub = h.Subscriber(broker.port)
    one, line1, base1 = gateway(d, broker.port, f"gw1-v{version}", version)
    two, line2, base2 = gateway(d, broker.port, f"gw2-v{version}", version)
    try:
        for gw in (one, two):
            h.wait_until(lambda: ERROR in gw.log_text(), 60, f"MQTT {version}: the client id error in {gw.log_path}")
        # It goes on; the error is logged once per gateway, not at every takeover.
        reconnects = api_status(base1)["reconnects"]
        h.wait_until(lambda: api_status(base1)["reconnects"] >= reconnects + 5, 60, "the takeovers to go on")
        for gw in (one, two):
            assert gw.log_text().count(ERROR) == 1, gw.log_text()[-3000:]
        line = next(l for l in one.log_text().splitlines() if ERROR in l)
        assert "ERROR" in line.upper() and "uplink.client_id" in line, line
        for base in (base1, base2):
            assert api_status(base)["client_id_conflict"] is True
            with urllib.request.urlopen(base + "/metrics", timeout=5) as r:
                assert "loopgate_uplink_client_id_conflict 1" in r.read().decode()
        table = subprocess.run([h.LOOPGATE, "status", "--url", base1 + "/"], capture_output=True, text=True, timeout=30)
        assert table.returncode == 0, table.stderr
        assert f"CLIENT ID {CLIENT_ID} IS IN USE BY ANOTHER CLIENT" in table.stdout, table.stdout
        docs = [json.loads(s) for s in sub.status]
        assert any(doc.get("uplink", {}).get("client_id_conflict") for doc in docs), "no status document shows the conflict"
        print(f"MQTT {version}: one error per gateway after {api_status(base1)['reconnects']} takeovers: {line}")
    finally:
        for gw in (one, two):
            if gw.proc.poll() is None:
                gw.stop()
        sub.close()
        line1.close()
        line2.close()
        broker.stop()


d = h.workdir("client-id")
run("3.1.1", d)
run("5", d)
