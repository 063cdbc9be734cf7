#!/usr/bin/python3
"""Modbus RTU through a serial device server over raw TCP (`path: tcp://host:port`, the NPort-style
setup): Debian's ser2net (`accepter: tcp`) in front of a socat pty with the pymodbus RTU slave behind
it. The real gateway polls the slave through ser2net and publishes its registers, a command writes a
setpoint through the same connection and is answered, and the next poll reads it back.

Then ser2net is killed mid-poll (SIGKILL, the pulled plug): the port is reported lost in status
(open false, the reason) while the connects it retries are refused, the loss is logged once and not
once per retry, and once ser2net is back on the same port the polls resume without a gateway
restart."""

import sys
import time

import harness as h
import loopgate_pb2
from device_server import ModbusBehindSer2net


if not h.have_ser2net():
    print("skipped: ser2net, python3-pymodbus or python3-serial missing")
    sys.exit(77)

bus = ModbusBehindSer2net("ser2net-raw", [
    {"unit": 1, "table": "holding", "address": 200, "type": "float32", "value": 10.0},
    {"unit": 1, "table": "holding", "address": 210, "type": "int16", "value": 230},
], ["{name: setpoint, table: holding, address: 200, type: float32, writable: true, min: 0, max: 100}",
    "{name: voltage, table: holding, address: 210, type: int16}"])
broker, sub, server, gw, path = bus.broker, bus.sub, bus.server, bus.gateway, bus.path
port_status, values = bus.port_status, bus.values

try:
    sub.wait_for(lambda s: values("voltage") and values("setpoint"), 30, "the first polls through ser2net")
    assert values("voltage")[-1].int_value == 230
    assert abs(values("setpoint")[-1].double_value - 10.0) < 1e-9
    status = port_status()
    assert status["open"] is True and status["transport"] == "tcp", status
    assert status["resolved"] == f"127.0.0.1:{server.port}", status

    # A command written through the raw TCP connection, answered, and read back by the next poll.
    replies = h.ReplyCollector(broker.port, "loopgate/test-gw/cmd", "loopgate/test-gw/cmd/reply",
                               loopgate_pb2.CommandResult, lambda r: r.id)
    command = loopgate_pb2.Command(id="set-1", device="meter", point="setpoint", double_value=42.5,
                                   expires_ns=time.time_ns() + 20 * 10**9)
    replies.send(command.SerializeToString())
    result = replies.wait("set-1", timeout=20)
    assert result.status == loopgate_pb2.CommandResult.OK, result
    sub.wait_for(lambda s: abs(values("setpoint")[-1].double_value - 42.5) < 1e-9, 20, "the setpoint read back")

    # ser2net killed mid-poll: reported in status, logged once, retried quietly.
    before_kill = len(values("voltage"))
    server.kill()
    h.wait_until(lambda: not port_status()["open"], 20, "the port reported closed after ser2net was killed")
    h.wait_until(lambda: "Connection refused" in (port_status()["last_error"] or ""), 20,
                 "the refused reconnects in status")
    failures = port_status()["failures"]
    h.wait_until(lambda: port_status()["failures"] >= failures + 3, 20, "more refused reconnects")
    log = gw.log_text()
    assert log.count(f"port bus: lost {path}") == 1, log
    assert log.count("Connection refused") <= 1, "each refused retry was logged:\n" + log

    # Back on the same port: polling resumes, the gateway was not restarted.
    server.start()
    sub.wait_for(lambda s: len(values("voltage")) > before_kill + 5, 30, "polls after ser2net came back")
    assert port_status()["open"] is True
    assert gw.proc.poll() is None
    assert gw.log_text().count(f"port bus: connected to {path}") == 2, gw.log_text()
    assert gw.stop() == 0
    print("ok: RTU polled and written through ser2net over raw TCP; its loss logged once, retried, resumed")
finally:
    bus.close()
