"""A Modbus RTU bus behind a serial device server, as the device-server tests drive it: a broker, the
pymodbus RTU slave on a socat pty, Debian's ser2net in front of that pty (raw TCP or RFC 2217), and the
real gateway polling the slave through ser2net, with commands on and its status page on a free port."""

import json
import os
import subprocess
import urllib.request

import harness as h


class ModbusBehindSer2net:
    """`registers` are the slave's (harness.modbus_slave); `points` the YAML flow mappings of device
    `meter` (unit 1); `scheme` tcp or rfc2217; `line` ser2net's preset for the serial line;
    `port_yaml` more keys of the gateway's port (`parity: even`). With relay=True a recording
    harness.Relay sits between the gateway and ser2net."""

    def __init__(self, name, registers, points, scheme="tcp", line="19200n81", port_yaml="", relay=False):
        self.directory = d = h.workdir(name)
        self.broker = h.Mosquitto(h.free_port(), d).start()
        self.sub = h.Subscriber(self.broker.port)
        self.pty = h.PtyPair(d, "bus")
        self.pty.close_sensor_side()
        self.slave = h.modbus_slave(d, self.pty.sensor_end, registers)
        self.server = h.Ser2net(d, self.pty.gateway_end, rfc2217=scheme == "rfc2217", line=line).start()
        self.relay = h.Relay(self.server.port, record=True) if relay else None
        self.http = h.free_port()
        self.path = f"{scheme}://127.0.0.1:{(self.relay or self.server).port}"
        config = os.path.join(d, "loopgate.yaml")
        extra = "".join(f"    {key}\n" for key in port_yaml.splitlines() if key.strip())
        point_lines = "".join(f"          - {p}\n" for p in points)
        with open(config, "w") as f:
            f.write(f"""
gateway: {{id: test-gw, metrics: "127.0.0.1:{self.http}"}}
uplink: {{broker: "tcp://127.0.0.1:{self.broker.port}", reconnect_min: 100ms, reconnect_max: 1s, batch: {{max_delay: 50ms}}}}
store: {{path: {d}/store.db}}
commands: {{enabled: true}}
ports:
  - name: bus
    path: {self.path}
    baud: 19200
{extra}    reopen_min: 100ms
    reopen_max: 500ms
    driver: modbus-rtu
    settings: {{response_timeout: 500ms, retries: 1}}
    devices:
      - name: meter
        unit: 1
        poll_interval: 200ms
        points:
{point_lines}""")
        check = subprocess.run([h.LOOPGATE, "check-config", config], capture_output=True, text=True, timeout=30)
        assert check.returncode == 0, check.stderr
        self.gateway = h.Gateway(config, d).start()

    def port_status(self):
        """The port's entry in the status document."""
        with urllib.request.urlopen(f"http://127.0.0.1:{self.http}/api/status", timeout=5) as r:
            return next(p for p in json.load(r)["ports"] if p["name"] == "bus")

    def values(self, metric):
        """The meter's readings of `metric` the broker delivered so far."""
        return [r for r in self.sub.readings() if r.device == "meter" and r.metric == metric]

    def close(self):
        if self.relay:
            self.relay.cut()
        self.server.kill()
        self.sub.close()
        self.pty.close()
        self.broker.stop()
