#include "drivers/modbus_rtu/crc16.hpp"

#include <array>

namespace loopgate::modbus {

namespace {

// A byte-at-a-time table: every request and every response byte passes through here, and the
// fuzzer and the monitor-mode resync call it at each candidate frame start.
constexpr std::array<std::uint16_t, 256> make_table() {
    std::array<std::uint16_t, 256> table{};
    for (unsigned i = 0; i < 256; ++i) {
        std::uint16_t crc = static_cast<std::uint16_t>(i);
        for (int bit = 0; bit < 8; ++bit) crc = (crc & 1) ? static_cast<std::uint16_t>((crc >> 1) ^ 0xA001) : static_cast<std::uint16_t>(crc >> 1);
        table[i] = crc;
    }
    return table;
}

constexpr auto kTable = make_table();

}  // namespace

std::uint16_t crc16(std::span<const std::uint8_t> bytes) {
    std::uint16_t crc = 0xFFFF;
    for (std::uint8_t b : bytes) crc = static_cast<std::uint16_t>((crc >> 8) ^ kTable[(crc ^ b) & 0xFF]);
    return crc;
}

void append_crc(std::vector<std::uint8_t>& frame) {
    std::uint16_t crc = crc16(frame);
    frame.push_back(static_cast<std::uint8_t>(crc & 0xFF));
    frame.push_back(static_cast<std::uint8_t>(crc >> 8));
}

bool crc_ok(std::span<const std::uint8_t> adu) {
    if (adu.size() < 3) return false;
    std::uint16_t crc = crc16(adu.first(adu.size() - 2));
    return adu[adu.size() - 2] == (crc & 0xFF) && adu[adu.size() - 1] == (crc >> 8);
}

}  // namespace loopgate::modbus
