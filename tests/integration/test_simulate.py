"""`loopgate simulate` gives people without hardware a weather sensor and a Modbus meter on ptys;
the real gateway reads both and the readings reach the broker. (The driver itself is tested against
pymodbus, not against this simulator.)"""

import os

import harness as h

d = h.workdir("simulate")
dev = os.path.join(d, "dev")
broker = h.Mosquitto(h.free_port(), d).start()
sub = h.Subscriber(broker.port)
sim, ports = h.simulated_sensors(d)
cfg = h.write_config(d, broker.port, ports)
gw = h.Gateway(cfg, d).start()
sub.wait_for(lambda s: {"air_temperature", "voltage_l1", "frequency"} <= {r.metric for r in s.readings()}, 20,
             "weather and meter readings")
got = {r.metric: r for r in sub.readings()}
assert 225 < got["voltage_l1"].double_value < 235 and got["voltage_l1"].unit == "V"
assert 49.9 < got["frequency"].double_value < 50.1
assert 15 < got["air_temperature"].double_value < 30
assert gw.stop() == 0
sim.terminate()
assert sim.wait(timeout=10) == 0 and not os.path.exists(os.path.join(dev, "meter")), "simulate removes its links"
print("ok: simulated weather sensor and Modbus meter read by the gateway")
sub.close()
broker.stop()
