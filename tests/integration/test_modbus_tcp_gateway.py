#!/usr/bin/python3
"""The real gateway's modbus-tcp driver against pymodbus's Modbus TCP server (two units on one
connection, tcp://127.0.0.1:PORT): readings arrive from both units, a signed command writes a
setpoint and is answered with the device's echo, and the server killed mid-poll and started again
(with new values) is reconnected to and polled again, while the gateway keeps running."""

import json
import os
import signal
import subprocess
import sys

import harness as h
import loopgate_pb2
from test_commands import Replies, Signer

HERE = os.path.dirname(os.path.abspath(__file__))


def have_modules():
    try:
        import pymodbus.server  # noqa: F401  (needs python3-serial-asyncio)
        from cryptography.hazmat.primitives.asymmetric import ed25519  # noqa: F401
    except ImportError:
        return False
    return True


def start_server(d, port, voltage):
    table = os.path.join(d, "table.json")
    with open(table, "w") as f:
        json.dump([
            {"unit": 1, "table": "input", "address": 0, "type": "float32", "value": voltage},
            {"unit": 1, "table": "holding", "address": 200, "type": "float32", "value": 10.0},
            {"unit": 2, "table": "holding", "address": 10, "type": "uint32", "order": "CDAB", "value": 4000000000},
        ], f)
    server = h.spawn(["/usr/bin/python3", os.path.join(HERE, "modbus_tcp_server.py"), str(port), table],
                     stdout=open(os.path.join(d, "server.log"), "ab"), stderr=subprocess.STDOUT)
    h.wait_until(lambda: h.listening(port) or server.poll() is not None, 20, "the Modbus TCP server")
    assert server.poll() is None, open(os.path.join(d, "server.log")).read()
    return server


def main():
    if not have_modules():
        print("skipping: python3-pymodbus with python3-serial-asyncio, or python3-cryptography, missing")
        return 77
    d = h.workdir("modbus_tcp")
    broker = h.Mosquitto(h.free_port(), d).start()
    sub = h.Subscriber(broker.port)
    port = h.free_port()
    server = start_server(d, port, 230.5)
    operator = h.keygen(d, "operator")
    cfg = os.path.join(d, "loopgate.yaml")
    with open(cfg, "w") as f:
        f.write(f"""
gateway: {{id: test-gw, metrics: off}}
uplink: {{broker: tcp://127.0.0.1:{broker.port}, batch: {{max_delay: 50ms}}}}
store: {{path: {d}/store.db}}
commands:
  enabled: true
  require_signature: true
  operator_keys: [{operator}.pub]
ports:
  - name: plant
    path: tcp://127.0.0.1:{port}
    driver: modbus-tcp
    settings: {{response_timeout: 500ms, retries: 1, offline_after: 2, max_in_flight: 2}}
    devices:
      - name: meter
        unit: 1
        poll_interval: 200ms
        points:
          - {{name: voltage, table: input, address: 0, type: float32, unit: V}}
          - {{name: setpoint, table: holding, address: 200, type: float32, writable: true, min: 0, max: 100}}
      - name: plc
        unit: 2
        poll_interval: 200ms
        points:
          - {{name: counter, table: holding, address: 10, type: uint32, word_order: CDAB}}
""")
    check = subprocess.run([h.LOOPGATE, "check-config", cfg], capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr
    gw = h.Gateway(cfg, d).start()

    def latest(device, metric):
        vals = [r for r in sub.readings() if r.device == device and r.metric == metric]
        return vals[-1] if vals else None

    sub.wait_for(lambda s: latest("meter", "voltage") and latest("plc", "counter") and latest("meter", "setpoint"),
                 30, "readings of both units")
    assert abs(latest("meter", "voltage").double_value - 230.5) < 1e-6 and latest("meter", "voltage").unit == "V"
    assert latest("plc", "counter").int_value == 4000000000
    assert latest("meter", "voltage").quality == 0
    print("ok: two units read over one Modbus TCP connection")

    # A command written through the TCP connection, answered with the device's echo.
    replies = Replies(broker.port, "loopgate/test-gw/cmd")
    c = Signer(operator).cmd(value=42.25, cid="tcp-write-1")
    replies.send(c.SerializeToString())
    r = replies.wait(c.id)
    assert r.status == loopgate_pb2.CommandResult.OK, r
    assert r.HasField("echoed") and r.echoed.double_value == 42.25, r
    sub.wait_for(lambda s: latest("meter", "setpoint") and abs(latest("meter", "setpoint").double_value - 42.25) < 1e-6,
                 10, "the written setpoint read back")
    with open(os.path.join(d, "server.log")) as f:
        assert "modbus_tcp_server: write fc=16 address=200" in f.read()
    print("ok: a command written over Modbus TCP, answered OK with its echo, read back")

    # The server dies mid-poll and comes back with another value: the gateway reconnects and reads it.
    server.send_signal(signal.SIGKILL)
    server.wait(timeout=10)
    server = start_server(d, port, 231.75)
    sub.wait_for(lambda s: latest("meter", "voltage") and abs(latest("meter", "voltage").double_value - 231.75) < 1e-6,
                 40, "the restarted server's voltage")
    assert gw.proc.poll() is None, "the gateway died with the server"
    print("ok: the server killed and restarted mid-poll, polled again after the reconnect")

    assert gw.stop() == 0
    server.send_signal(signal.SIGTERM)
    server.wait(timeout=10)
    replies.close()
    sub.close()
    broker.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
