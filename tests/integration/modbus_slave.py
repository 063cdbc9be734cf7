#!/usr/bin/python3
"""A pymodbus RTU slave for the modbus-rtu driver's interop test.

Usage: /usr/bin/python3 modbus_slave.py PORT TABLE.json [--baud 19200] [--responsive]

TABLE.json is a list of {"unit", "table", "address", "type", "order", "value"[, "length"][, "locked"]}
entries. A "locked" entry acknowledges writes and keeps its value, as meters do for registers locked
by a hardware switch or clamped by their firmware.
Register contents are computed here with Python's struct module, independently of the driver's
encoder, so the test checks our decoder against a second implementation of the byte orders.

pymodbus frames, decodes, executes and encodes every request and response (ModbusRtuFramer,
ServerDecoder, ModbusSlaveContext). Only the I/O loop is ours: pymodbus 3.0's StartSerialServer
needs the serial_asyncio module (python3-serial-asyncio), which Loopgate's dependencies don't
include; a blocking pyserial loop does the same job for one line.

By default it reads the line in 50 ms slices (pyserial's read(256) waits out its timeout), so each
answer comes 50 ms late, like a slow slave; --responsive hands bytes to the framer as they arrive
(bench/command_latency.py, where the slave's own delay must not hide the gateway's).

Units listed in the table answer; any other unit id is ignored, so the master times out on it.
Reads outside the datastore (holding/input 0..299, coils/discrete 0..63) get ILLEGAL_DATA_ADDRESS.
"""

import json
import struct
import sys

import serial
from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext
from pymodbus.factory import ServerDecoder
from pymodbus.framer.rtu_framer import ModbusRtuFramer

FORMATS = {
    "int16": ">h", "uint16": ">H", "int32": ">i", "uint32": ">I",
    "int64": ">q", "uint64": ">Q", "float32": ">f", "float64": ">d",
}
REGISTERS = 300
BITS = 64


def to_registers(entry):
    """Value -> register words in wire order. Bytes A B C D... are the big-endian value; BADC/DCBA
    swap the two bytes of each word, CDAB/DCBA reverse the order of the words."""
    kind = entry["type"]
    order = entry.get("order", "ABCD")
    if kind == "string":
        raw = entry["value"].encode("ascii").ljust(entry["length"] * 2, b"\0")
    else:
        raw = struct.pack(FORMATS[kind], entry["value"])
    words = [raw[i:i + 2] for i in range(0, len(raw), 2)]
    if order in ("BADC", "DCBA"):
        words = [w[::-1] for w in words]
    if order in ("CDAB", "DCBA") and kind != "string":
        words = words[::-1]
    return [int.from_bytes(w, "big") for w in words]


class LockableBlock(ModbusSequentialDataBlock):
    """A data block whose `locked` addresses take writes without changing (pymodbus still answers the
    write with its normal echo)."""

    def __init__(self, address, values):
        super().__init__(address, values)
        self.locked = set()

    def setValues(self, address, values):  # noqa: N802 (pymodbus's name)
        if not isinstance(values, list):
            values = [values]
        kept = [self.getValues(address + i, 1)[0] if address + i in self.locked else v for i, v in enumerate(values)]
        super().setValues(address, kept)


def build_context(table):
    slaves = {}
    for unit in sorted({e["unit"] for e in table}):
        slaves[unit] = ModbusSlaveContext(
            di=ModbusSequentialDataBlock(0, [False] * BITS),
            co=LockableBlock(0, [False] * BITS),
            hr=LockableBlock(0, [0] * REGISTERS),
            ir=ModbusSequentialDataBlock(0, [0] * REGISTERS),
            zero_mode=True,  # address 0 is register 0, as on the wire
        )
    codes = {"coil": 1, "discrete_input": 2, "holding": 3, "input": 4}
    for e in table:
        store = slaves[e["unit"]]
        fc = codes[e["table"]]
        if e["table"] in ("coil", "discrete_input"):
            words = [bool(e["value"])]
        else:
            words = to_registers(e)
        store.setValues(fc, e["address"], words)
        if e.get("locked"):
            store.store["c" if e["table"] == "coil" else "h"].locked.update(range(e["address"], e["address"] + len(words)))
    return ModbusServerContext(slaves=slaves, single=False), sorted(slaves)


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    port, table_file = sys.argv[1], sys.argv[2]
    baud = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "--baud" else 19200
    responsive = "--responsive" in sys.argv[3:]
    with open(table_file, encoding="utf-8") as f:
        table = json.load(f)
    context, units = build_context(table)
    framer = ModbusRtuFramer(ServerDecoder())
    line = serial.Serial(port, baudrate=baud, bytesize=8, parity="N", stopbits=1, timeout=0.05)

    def execute(request):
        # Writes are logged, so a test can count what reached the device.
        if request.function_code in (5, 6, 15, 16):
            print(f"modbus_slave: write fc={request.function_code} unit={request.unit_id} "
                  f"address={getattr(request, 'address', '?')}", flush=True)
        response = request.execute(context[request.unit_id])
        response.unit_id = request.unit_id
        response.transaction_id = request.transaction_id
        line.write(framer.buildPacket(response))
        line.flush()

    print(f"modbus_slave: serving units {units} on {port}", flush=True)
    while True:
        data = line.read(max(1, line.in_waiting)) if responsive else line.read(256)
        if data:
            framer.processIncomingPacket(data, execute, units, single=False)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
