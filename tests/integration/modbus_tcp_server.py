#!/usr/bin/python3
"""A pymodbus Modbus TCP server for the modbus-tcp driver's end-to-end test.

Usage: /usr/bin/python3 modbus_tcp_server.py PORT TABLE.json

TABLE.json is modbus_slave.py's register table (units, tables, addresses, types, orders, values);
every unit listed answers on the one connection, as a TCP-to-RTU gateway's units do. pymodbus frames
(ModbusSocketFramer), decodes, executes and encodes every request (StartTcpServer); python3-pymodbus
3.0 needs python3-serial-asyncio to import its server module. Writes are logged, one line each.
"""

import json
import logging
import sys

from pymodbus.datastore import ModbusSlaveContext
from pymodbus.server import StartTcpServer

from modbus_slave import build_context


def main():
    if len(sys.argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    port, table_file = int(sys.argv[1]), sys.argv[2]
    with open(table_file, encoding="utf-8") as f:
        table = json.load(f)
    context, units = build_context(table)

    set_values = ModbusSlaveContext.setValues

    def logged(self, fc_as_hex, address, values):
        if fc_as_hex in (5, 6, 15, 16):
            print(f"modbus_tcp_server: write fc={fc_as_hex} address={address} values={values}", flush=True)
        return set_values(self, fc_as_hex, address, values)

    ModbusSlaveContext.setValues = logged
    logging.basicConfig(level=logging.WARNING)
    print(f"modbus_tcp_server: serving units {units} on 127.0.0.1:{port}", flush=True)
    # Restarted on the port it was killed on (the test's server restart), it must bind again although
    # the killed server's side of the old connection still holds the port; pymodbus 3.0 swallows a
    # failed bind and would never listen.
    StartTcpServer(context=context, address=("127.0.0.1", port), allow_reuse_address=True)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        sys.exit(0)
