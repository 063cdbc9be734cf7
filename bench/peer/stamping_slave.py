#!/usr/bin/python3
"""A pymodbus RTU slave that stamps each answer: the device of bench/peer/run.py.

Usage: /usr/bin/python3 stamping_slave.py PORT STAMPS_FILE [--baud 19200]

Unit 1 has holding registers 0..9. Register 0 counts the slave's answers (1, 2, ... mod 65536),
registers 1..9 hold fixed values (1001..1009). For each answer the slave writes `N T` to STAMPS_FILE,
N the counter value sent, T the CLOCK_REALTIME nanoseconds when write() of the answer's last byte
returned: a subscriber that sees register 0 = N knows when the device answered.

pymodbus (ModbusRtuFramer, ServerDecoder, ModbusSlaveContext) frames, decodes, executes and encodes
every request and response, as in tests/integration/modbus_slave.py. The I/O loop differs: that
slave's pyserial read(256) with a 50 ms timeout returns only when 256 bytes arrived or 50 ms passed,
so it answers an 8-byte request up to 50 ms late; here select() + os.read() hand the framer each
byte as soon as it arrives, so the answer leaves as soon as pymodbus has built it.
"""

import os
import select
import sys
import termios
import time
import tty

from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext
from pymodbus.factory import ServerDecoder
from pymodbus.framer.rtu_framer import ModbusRtuFramer

UNIT = 1
REGISTERS = 10
COUNTER = 0  # holding register that carries the answer counter


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    port, stamps_path = sys.argv[1], sys.argv[2]
    baud = int(sys.argv[4]) if len(sys.argv) > 4 and sys.argv[3] == "--baud" else 19200
    store = ModbusSlaveContext(hr=ModbusSequentialDataBlock(0, [0] + [1000 + i for i in range(1, REGISTERS)]),
                               zero_mode=True)  # address 0 is register 0, as on the wire
    context = ModbusServerContext(slaves={UNIT: store}, single=False)
    framer = ModbusRtuFramer(ServerDecoder())

    fd = os.open(port, os.O_RDWR | os.O_NOCTTY)
    tty.setraw(fd)
    attrs = termios.tcgetattr(fd)
    speed = getattr(termios, f"B{baud}")
    attrs[4] = attrs[5] = speed  # a pty ignores the rate; set it as a real line would be
    termios.tcsetattr(fd, termios.TCSANOW, attrs)
    stamps = open(stamps_path, "w", buffering=1)  # line-buffered: the runner reads it while we run
    answers = 0

    def execute(request):
        nonlocal answers
        if request.function_code == 3 and request.address <= COUNTER < request.address + request.count:
            answers += 1
            store.setValues(3, COUNTER, [answers % 65536])
        response = request.execute(context[request.unit_id])
        response.unit_id = request.unit_id
        response.transaction_id = request.transaction_id
        packet = framer.buildPacket(response)
        view = memoryview(packet)
        while view:
            view = view[os.write(fd, view):]
        now = time.time_ns()
        if request.function_code == 3:
            stamps.write(f"{answers % 65536} {now}\n")

    print(f"stamping_slave: serving unit {UNIT} on {port}", flush=True)
    while True:
        ready, _, _ = select.select([fd], [], [], 1.0)
        if ready:
            data = os.read(fd, 256)
            if data:
                framer.processIncomingPacket(data, execute, [UNIT], single=False)


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
