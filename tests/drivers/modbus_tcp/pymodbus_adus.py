#!/usr/bin/python3
"""Modbus TCP ADUs built by pymodbus (its ModbusSocketFramer and message classes), one per line:
NAME TRANSACTION UNIT REQUEST_HEX RESPONSE_HEX. The modbus-tcp driver's tests decode them and
compare them with the frames the driver builds, so the MBAP codec is checked against a second
implementation and not only against itself."""

from pymodbus.bit_read_message import ReadCoilsRequest, ReadCoilsResponse, ReadDiscreteInputsRequest, ReadDiscreteInputsResponse
from pymodbus.bit_write_message import WriteSingleCoilRequest, WriteSingleCoilResponse
from pymodbus.factory import ClientDecoder
from pymodbus.framer.socket_framer import ModbusSocketFramer
from pymodbus.pdu import ExceptionResponse
from pymodbus.register_read_message import (ReadHoldingRegistersRequest, ReadHoldingRegistersResponse,
                                            ReadInputRegistersRequest, ReadInputRegistersResponse)
from pymodbus.register_write_message import (WriteMultipleRegistersRequest, WriteMultipleRegistersResponse,
                                             WriteSingleRegisterRequest, WriteSingleRegisterResponse)

framer = ModbusSocketFramer(ClientDecoder())


def adu(message, transaction, unit):
    message.transaction_id = transaction
    message.unit_id = unit
    return framer.buildPacket(message).hex()


cases = [
    ("read_holding", 0x0001, 17, ReadHoldingRegistersRequest(0x006B, 3), ReadHoldingRegistersResponse([0x022B, 0x0000, 0x0064])),
    ("read_input", 0xFFFF, 1, ReadInputRegistersRequest(0x0008, 1), ReadInputRegistersResponse([0x000A])),
    ("read_coils", 0x1234, 255, ReadCoilsRequest(0x0013, 19),
     ReadCoilsResponse([True, False, True, True, False, False, True, True,
                        True, True, False, True, False, True, True, False,
                        True, False, True])),
    ("read_discrete", 0x8000, 0, ReadDiscreteInputsRequest(0x00C4, 22),
     ReadDiscreteInputsResponse([False, False, True, True, False, True, False, True,
                                 True, True, False, True, True, False, True, True,
                                 True, False, True, False, True, True])),
    ("write_register", 0x0002, 17, WriteSingleRegisterRequest(0x0001, 0x0003), WriteSingleRegisterResponse(0x0001, 0x0003)),
    ("write_coil", 0x0003, 17, WriteSingleCoilRequest(0x00AC, True), WriteSingleCoilResponse(0x00AC, True)),
    ("write_registers", 0x0004, 17, WriteMultipleRegistersRequest(0x0001, [0x000A, 0x0102]),
     WriteMultipleRegistersResponse(0x0001, 2)),
    ("exception", 0x0005, 17, ReadHoldingRegistersRequest(0x1000, 2), ExceptionResponse(0x03, 0x02)),
]
for name, transaction, unit, request, response in cases:
    print(name, transaction, unit, adu(request, transaction, unit), adu(response, transaction, unit))
