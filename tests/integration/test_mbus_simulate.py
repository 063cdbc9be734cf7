"""`loopgate simulate --mbus NAME=ADDRESS` gives people without a level converter an M-Bus heat
meter on a pty: the real gateway reads it by primary address and by secondary address, follows its
two-telegram readout, and the readings reach the broker. (The driver's decoding is tested against
libmbus's recorded meters, not against this simulator.)"""

import os
import subprocess

import harness as h

d = h.workdir("mbus_simulate")
dev = os.path.join(d, "dev")
broker = h.Mosquitto(h.free_port(), d).start()
sub = h.Subscriber(broker.port)
sim = h.spawn([h.LOOPGATE, "simulate", "--dir", dev, "--mbus", "heat=5", "--mbus", "water=9"],
              stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
h.wait_until(lambda: os.path.exists(os.path.join(dev, "heat")) and os.path.exists(os.path.join(dev, "water")), 20,
             "simulate to link its meters")
cfg = h.write_config(d, broker.port, f"""  - name: heat
    path: {os.path.join(dev, "heat")}
    driver: mbus
    devices: [{{address: 5, poll_interval: 15min}}]
  - name: water
    path: {os.path.join(dev, "water")}
    driver: mbus
    devices: [{{secondary: "71000009", name: water-meter, poll_interval: 15min}}]
""")
gw = h.Gateway(cfg, d).start()
wanted = {("mbus-71000005", "energy"), ("mbus-71000005", "energy_s1"), ("mbus-71000005", "date_s1"),
          ("water-meter", "flow_temperature"), ("water-meter", "energy_s1")}
sub.wait_for(lambda s: wanted <= {(r.device, r.metric) for r in s.readings()}, 60, "both meters' two telegrams")
got = {(r.device, r.metric): r for r in sub.readings()}
e = got[("mbus-71000005", "energy")]
assert e.unit == "Wh" and 12_345_000 <= e.double_value < 13_000_000, e
assert got[("mbus-71000005", "energy_s1")].double_value == 11_000_000
assert got[("mbus-71000005", "date_s1")].string_value == "2026-12-31"
t = got[("water-meter", "flow_temperature")]
assert t.unit == "degC" and 66 < t.double_value < 74, t
assert gw.stop() == 0
sim.terminate()
assert sim.wait(timeout=10) == 0 and not os.path.exists(os.path.join(dev, "heat")), "simulate removes its links"
sub.close()
broker.stop()
print("ok: simulated M-Bus meters read by primary and secondary address, two telegrams each")
