"""SIGHUP re-reads the config: an unchanged port keeps running untouched (no reopen, no line lost),
a changed port restarts with its new settings, a new port starts; an invalid file changes nothing."""

import signal

import harness as h

d = h.workdir("reload")
broker = h.Mosquitto(h.free_port(), d).start()
sub = h.Subscriber(broker.port)
met = h.PtyPair(d, "met")
aux = h.PtyPair(d, "aux")
new = h.PtyPair(d, "new")


def aux_port(path, metric):
    return f"""  - name: aux
    path: {path}
    driver: line
    settings:
      fields: [{{field: V, metric: {metric}, unit: V}}]
    devices: [{{name: psu}}]
"""


cfg = h.line_config(d, broker.port, met.gateway_end, extra_ports=aux_port(aux.gateway_end, "voltage"))
gw = h.Gateway(cfg, d).start()
feeder = h.Feeder(met, period=0.01)
feeder.start()
aux.write("V=12.5\n")
sub.wait_for(lambda s: any(r.metric == "voltage" for r in s.readings()), 10, "the aux port's reading")

# Change aux's metric name, add a port, leave met alone.
with open(cfg) as f:
    text = f.read()
text = text.replace("metric: voltage", "metric: supply_voltage")
text += f"""  - name: new
    path: {new.gateway_end}
    driver: line
    settings:
      fields: [{{field: P, metric: power, unit: W}}]
    devices: [{{name: meter}}]
"""
with open(cfg, "w") as f:
    f.write(text)
gw.proc.send_signal(signal.SIGHUP)
h.wait_until(lambda: "reload: 1 ports unchanged, 1 restarted, 1 added, 0 removed" in gw.log_text(), 10,
             "the reload summary")
h.wait_until(lambda: gw.log_text().count("port aux: opened") == 2 and "port new: opened" in gw.log_text(), 10,
             "aux to reopen and new to open")
aux.write("V=12.6\n")
new.write("P=250\n")
sub.wait_for(lambda s: any(r.metric == "supply_voltage" for r in s.readings())
             and any(r.metric == "power" for r in s.readings()), 10, "readings under the new settings")

# A broken file: the running configuration stays.
with open(cfg, "w") as f:
    f.write(text.replace("max_line: 120", "max_lien: 120"))
gw.proc.send_signal(signal.SIGHUP)
h.wait_until(lambda: "keeping the running configuration" in gw.log_text(), 10, "the refusal")
assert "max_lien" in gw.log_text() and "did you mean 'max_line'" in gw.log_text()
before = len(h.Delivery(sub.batches).records)
sub.wait_for(lambda s: len(h.Delivery(s.batches).records) > before + 20, 10, "readings still flowing")

feeder.stop()
sub.wait_for(lambda s: len(h.Delivery(s.batches).records) >= feeder.sent, 10, "every line fed to met")
got = h.Delivery(sub.batches)
assert got.records == set(range(1, feeder.sent + 1)), "the unchanged port lost lines across reloads"
assert gw.log_text().count("port met: opened") == 1, "the unchanged port must not be reopened"
assert gw.stop() == 0
print(f"ok: {feeder.sent} lines on the untouched port across two reloads")
sub.close()
for p in (met, aux, new):
    p.close()
broker.stop()
