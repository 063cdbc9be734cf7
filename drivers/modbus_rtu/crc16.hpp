#pragma once
// CRC-16/MODBUS, the check that ends every RTU frame (Modbus over Serial Line V1.02, 6.2.2).

#include <cstdint>
#include <span>
#include <vector>

namespace loopgate::modbus {

// Polynomial 0xA001 (0x8005 reflected), initial value 0xFFFF, no final xor.
std::uint16_t crc16(std::span<const std::uint8_t> bytes);

// Appends the CRC of `frame` in wire order: low byte first, unlike every other field of Modbus.
void append_crc(std::vector<std::uint8_t>& frame);

// True when `adu` is at least 3 bytes long and its last two bytes are the CRC of the rest.
bool crc_ok(std::span<const std::uint8_t> adu);

}  // namespace loopgate::modbus
