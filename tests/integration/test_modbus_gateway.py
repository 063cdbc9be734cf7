"""The real gateway polls a pymodbus RTU slave (two unit ids) through a socat pty and publishes the
decoded points; a unit that never answers is reported offline, an illegal address as bad quality."""

import subprocess

import harness as h

d = h.workdir("modbus")
broker = h.Mosquitto(h.free_port(), d).start()
sub = h.Subscriber(broker.port)
line = h.PtyPair(d, "bus")
line.close_sensor_side()
slave = h.modbus_slave(d, line.sensor_end, [
    {"unit": 1, "table": "input", "address": 0, "type": "float32", "order": "ABCD", "value": 230.5},
    {"unit": 1, "table": "input", "address": 2, "type": "float32", "order": "CDAB", "value": -12.25},
    {"unit": 2, "table": "holding", "address": 10, "type": "int16", "order": "ABCD", "value": -42},
    {"unit": 2, "table": "holding", "address": 11, "type": "uint32", "order": "DCBA", "value": 4000000000},
])
cfg = h.write_config(d, broker.port, f"""  - name: bus
    path: {line.gateway_end}
    baud: 19200
    driver: modbus-rtu
    settings: {{response_timeout: 200ms, retries: 0, offline_after: 2}}
    devices:
      - name: meter
        unit: 1
        poll_interval: 200ms
        points:
          - {{name: voltage, table: input, address: 0, type: float32, word_order: ABCD, unit: V}}
          - {{name: current, table: input, ref: 30003, type: float32, word_order: CDAB, unit: A}}
      - name: plc
        unit: 2
        poll_interval: 200ms
        points:
          - {{name: setpoint, table: holding, ref: 40011, type: int16}}
          - {{name: counter, table: holding, address: 11, type: uint32, word_order: DCBA}}
          - {{name: missing, table: holding, address: 400, type: uint16}}
      - name: ghost
        unit: 7
        poll_interval: 200ms
        points:
          - {{name: x, table: holding, address: 0, type: uint16}}
""")
check = subprocess.run([h.LOOPGATE, "check-config", cfg], capture_output=True, text=True)
assert check.returncode == 0, check.stderr
gw = h.Gateway(cfg, d).start()


def latest(s):
    return {(r.device, r.metric): r for r in s.readings()}


def complete(s):
    got = latest(s)
    return all(k in got for k in [("meter", "voltage"), ("meter", "current"), ("plc", "setpoint"), ("plc", "counter"),
                                  ("plc", "missing"), ("ghost", "online")])


sub.wait_for(complete, 30, "every point and the ghost's offline state")
got = latest(sub)
assert abs(got[("meter", "voltage")].double_value - 230.5) < 1e-6 and got[("meter", "voltage")].unit == "V"
assert abs(got[("meter", "current")].double_value + 12.25) < 1e-6
assert got[("plc", "setpoint")].int_value == -42
assert got[("plc", "counter")].int_value == 4000000000
assert got[("ghost", "online")].bool_value is False
assert got[("plc", "missing")].quality == 2 and "ILLEGAL_DATA_ADDRESS" in got[("plc", "missing")].quality_reason
assert gw.stop() == 0
print("ok: two units decoded through the real gateway, the silent unit reported offline")
sub.close()
line.close()
broker.stop()
