#!/usr/bin/python3
"""Modbus RTU through a serial device server speaking RFC 2217 (`path: rfc2217://host:port`):
Debian's ser2net (`accepter: telnet(rfc2217),tcp,...`, its port preset to 9600n81) in front of a socat
pty with the pymodbus RTU slave behind it, a recording relay between the gateway and ser2net.

The gateway asks ser2net for the port's 19200 baud, 8 data bits, even parity, 1 stop bit, no flow
control; what ser2net acknowledged (decoded here from the relayed bytes, by this file's own reading
of RFC 2217) is what status reports and the log says, once. A Linux pty applies the baud rate but
keeps 8 data bits and no parity whatever is asked, so the assertions are on ser2net's answers, never
on the pty's termios. Register values with 0xFF bytes come through Telnet's escaping both ways: a
register holding -1 is read as -1, and a command writing -1 leaves the gateway with each 0xFF
doubled, is answered, and is read back."""

import sys
import time

import harness as h
import loopgate_pb2
from device_server import ModbusBehindSer2net

IAC, SB, SE = 255, 250, 240


def com_port_answers(stream):
    """{code: value bytes} of every COM-PORT-OPTION (44) subnegotiation in a Telnet byte stream, the
    last answer per code, unescaped: RFC 854/2217 read independently of the gateway's codec."""
    answers, i = {}, 0
    while i < len(stream):
        if stream[i] == IAC and i + 2 < len(stream) and stream[i + 1] == SB and stream[i + 2] == 44:
            j, payload = i + 3, bytearray()
            while j + 1 < len(stream) and not (stream[j] == IAC and stream[j + 1] == SE):
                if stream[j] == IAC and stream[j + 1] == IAC:
                    j += 1
                payload.append(stream[j])
                j += 1
            if payload:
                answers[payload[0]] = bytes(payload[1:])
            i = j + 2
        elif stream[i] == IAC:
            i += 2 if i + 1 < len(stream) and stream[i + 1] == IAC else 3 if i + 1 < len(stream) and stream[i + 1] >= 251 else 2
        else:
            i += 1
    return answers


def crc16(frame):
    crc = 0xFFFF
    for b in frame:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return frame + bytes([crc & 0xFF, crc >> 8])


if not h.have_ser2net():
    print("skipped: ser2net, python3-pymodbus or python3-serial missing")
    sys.exit(77)

bus = ModbusBehindSer2net("ser2net-rfc2217", [
    {"unit": 1, "table": "holding", "address": 210, "type": "int16", "value": -1},
    {"unit": 1, "table": "holding", "address": 220, "type": "int16", "value": 5},
], ["{name: minus_one, table: holding, address: 210, type: int16}",
    "{name: level, table: holding, address: 220, type: int16, writable: true, min: -100, max: 100}"],
    scheme="rfc2217", line="9600n81", port_yaml="parity: even", relay=True)
broker, sub, relay, gw = bus.broker, bus.sub, bus.relay, bus.gateway
port_status, values = bus.port_status, bus.values

try:
    sub.wait_for(lambda s: values("minus_one") and values("level"), 30, "the first polls through RFC 2217")
    assert values("minus_one")[-1].int_value == -1, "0xFFFF did not come through Telnet's escaping"
    assert values("level")[-1].int_value == 5

    # What the gateway asked for, and what ser2net acknowledged, read from the wire.
    to_server, to_client = relay.captured()
    asked = com_port_answers(to_server)
    assert asked[1] == (19200).to_bytes(4, "big") and asked[2] == b"\x08" and asked[3] == b"\x03", asked
    assert asked[4] == b"\x01" and asked[5] == b"\x01", asked
    acked = h.wait_until(lambda: (lambda a: a if all(c in a for c in (101, 102, 103, 104, 105)) else None)(
        com_port_answers(relay.captured()[1])), 10, "ser2net's answers to every setting")
    parity = {1: "none", 2: "odd", 3: "even", 4: "mark", 5: "space"}[acked[103][0]]
    stop = {1: "1", 2: "2", 3: "1.5"}[acked[104][0]]
    flow = {1: "none", 2: "software", 3: "hardware"}[acked[105][0]]
    remote = h.wait_until(lambda: port_status().get("remote_port"), 10, "remote_port in status")
    assert remote["com_port_option"] is True, remote
    assert remote["baud"] == int.from_bytes(acked[101], "big") == 19200, (remote, acked)
    assert remote["data_bits"] == acked[102][0], (remote, acked)
    assert (remote["parity"], remote["stop_bits"], remote["flow_control"]) == (parity, stop, flow), (remote, acked)
    assert remote["protocol_errors"] == 0, remote
    assert port_status()["transport"] == "rfc2217"
    confirmed = (f"port bus: the RFC 2217 server confirmed {remote['baud']} baud, {remote['data_bits']} data bits, "
                 f"parity {parity}, {stop} stop bit")
    assert gw.log_text().count(confirmed) == 1, gw.log_text()

    # A command writing -1: 0xFF bytes escaped on the way out, answered, read back.
    replies = h.ReplyCollector(broker.port, "loopgate/test-gw/cmd", "loopgate/test-gw/cmd/reply",
                               loopgate_pb2.CommandResult, lambda r: r.id)
    command = loopgate_pb2.Command(id="level-1", device="meter", point="level", int_value=-1,
                                   expires_ns=time.time_ns() + 20 * 10**9)
    replies.send(command.SerializeToString())
    result = replies.wait("level-1", timeout=20)
    assert result.status == loopgate_pb2.CommandResult.OK, result
    sub.wait_for(lambda s: values("level")[-1].int_value == -1, 20, "the level read back as -1")
    request = crc16(bytes([1, 6, 0, 220, 0xFF, 0xFF]))
    escaped = request.replace(b"\xff", b"\xff\xff")
    assert escaped in relay.captured()[0], "the write request did not leave with its 0xFF bytes doubled"
    assert gw.stop() == 0
    print(f"ok: ser2net acknowledged {remote}; RTU polled and written through RFC 2217 with 0xFF escaped")
finally:
    bus.close()
