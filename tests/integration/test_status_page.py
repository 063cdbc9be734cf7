#!/usr/bin/python3
"""The status page in a real browser: Debian's chromium loads http://<gateway.metrics>/ from a running
gateway reading simulated sensors (a weather station and a Modbus meter from `loopgate simulate`,
and a line sensor that counts its records), and the page shows the ports, the devices and a live
value that changes while nobody reloads it (Server-Sent Events). A screenshot is saved to
test-output/test_status_page/status_page.png. The same figures come as JSON from /api/status and
as a table from `loopgate status`; /metrics is what Prometheus always read."""

import json
import os
import subprocess
import urllib.request

import browser
import harness as h

browser.chromium_path()  # skipped (77) without chromium, before anything starts
d = h.workdir("status-page")
out = h.output_dir("test_status_page")
broker = h.Mosquitto(h.free_port(), d).start()
line = h.PtyPair(d)
sim, simulated = h.simulated_sensors(d, weather_device="station")
http_port = h.free_port()
cfg = h.line_config(d, broker.port, line.gateway_end, metrics=f"127.0.0.1:{http_port}", extra_ports=simulated)
gw = h.Gateway(cfg, d).start()
feeder = h.Feeder(line, period=0.05)
feeder.start()
base = f"http://127.0.0.1:{http_port}"

# --- the document the page is drawn from ---
def api_status():
    with urllib.request.urlopen(base + "/api/status", timeout=5) as r:
        assert r.headers["Content-Type"] == "application/json", r.headers
        return json.load(r)

def complete(s):
    return s if {v["device"] for v in s["values"]} >= {"ws1", "station", "meter"} and s["uplink"]["connected"] else None

doc = h.wait_until(lambda: complete(api_status()), 20, "readings of all three devices and the broker in /api/status")
assert doc["gateway"]["id"] == "test-gw" and doc["gateway"]["config_file"] == cfg, doc["gateway"]
assert len(doc["gateway"]["config_sha256"]) == 64 and doc["gateway"]["disk_free_bytes"] > 0, doc["gateway"]
assert doc["uplink"]["connected"] is True and doc["uplink"]["tls"] is False, doc["uplink"]
assert {p["name"]: p["open"] for p in doc["ports"]} == {"met": True, "weather": True, "rs485": True}, doc["ports"]
assert any("opened" in l["text"] for l in doc["log"]), doc["log"]
assert next(d_ for d_ in doc["devices"] if d_["name"] == "meter")["online"] is True, doc["devices"]
# Nothing secret is in it: no password hashes, no credentials file contents.
assert "password" not in json.dumps(doc), doc

# --- the page in a real browser ---
chrome = browser.Chromium(d)
chrome.navigate(base + "/")
chrome.wait_for("document.getElementById('link')?.textContent === 'live'", 20, "the page's event stream")
ports = chrome.wait_for("""(() => { const r = [...document.querySelectorAll('#ports tr')].map(tr => tr.dataset.key + ' ' + tr.children[2].textContent);
                            return r.length === 3 ? r : null })()""", 20, "three ports on the page")
assert sorted(ports) == ["met open", "rs485 open", "weather open"], ports
devices = chrome.wait_for("""(() => { const r = [...document.querySelectorAll('#devices tr')].map(tr => tr.dataset.key);
                              return r.length >= 3 ? r : null })()""", 20, "the devices on the page")
assert {"ws1", "station", "meter"} <= set(devices), devices
assert chrome.evaluate("document.querySelector('#devices tr[data-key=meter]').children[1].textContent") == "online"
assert chrome.evaluate("document.getElementById('gw-id').textContent") == "test-gw"

record = "document.querySelector('#values tr[data-key=\"ws1/record\"]')?.children[1].textContent"
first = chrome.wait_for(record, 20, "the line sensor's record counter on the page")
# The sensor counts on; the page shows it without being reloaded (same document, no navigation).
chrome.evaluate("window.__same_document = true")
later = chrome.wait_for(f"(() => {{ const v = {record}; return v && Number(v) > Number({json.dumps(first)}) + 5 ? v : null }})()",
                        20, "the record counter to change on the page")
assert chrome.evaluate("window.__same_document") is True
assert int(later) > int(first), (first, later)
chrome.wait_for("document.querySelector('#log').textContent.includes('opened')", 10, "log lines on the page")
assert chrome.evaluate("document.getElementById('up-state').textContent").startswith("connected since")
assert chrome.evaluate("document.getElementById('up-broker').textContent") == f"tcp://127.0.0.1:{broker.port} (loopgate-test-gw)"
assert chrome.evaluate("document.getElementById('up-failovers').textContent") == "none"
screenshot = os.path.join(out, "status_page.png")
chrome.screenshot(screenshot)
with open(screenshot, "rb") as f:
    assert f.read(8) == b"\x89PNG\r\n\x1a\n", "the screenshot is a PNG"
chrome.close()

# --- the same summary in a terminal ---
table = subprocess.run([h.LOOPGATE, "status", "--url", base + "/"], capture_output=True, text=True, timeout=30)
assert table.returncode == 0, table.stderr
for expected in ("gateway test-gw", "PORT", "met", "weather", "rs485", "DEVICE", "meter", "ws1/record", "connected since"):
    assert expected in table.stdout, (expected, table.stdout)
by_config = subprocess.run([h.LOOPGATE, "status", "--config", cfg], capture_output=True, text=True, timeout=30)
assert by_config.returncode == 0 and "gateway test-gw" in by_config.stdout, by_config
nobody = subprocess.run([h.LOOPGATE, "status", "--url", f"http://127.0.0.1:{h.free_port()}/"], capture_output=True,
                        text=True, timeout=30)
assert nobody.returncode == 1 and "cannot read" in nobody.stderr, nobody

# --- Prometheus still reads /metrics as before ---
with urllib.request.urlopen(base + "/metrics", timeout=5) as r:
    assert r.headers["Content-Type"] == "text/plain; version=0.0.4"
    text = r.read().decode()
assert "# TYPE loopgate_readings_total counter" in text and 'loopgate_port_open{port="rs485"} 1' in text, text
try:
    urllib.request.urlopen(base + "/nothing-here", timeout=5)
    raise AssertionError("an unknown path was served")
except urllib.error.HTTPError as e:
    assert e.code == 404

feeder.stop()
assert gw.stop() == 0
sim.terminate()
sim.wait(timeout=10)
line.close()
broker.stop()
print(f"ok: the status page in chromium shows 3 ports, the devices and a live value ({first} -> {later}); "
      f"screenshot {screenshot}")
