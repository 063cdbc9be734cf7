#pragma once
// The simulator's Modbus RTU slave: enough of a meter for the demo and for trying point maps
// without hardware. Input registers 0.. hold float32 (ABCD) readings that drift over time,
// holding registers 0..99 are writable storage, anything else answers ILLEGAL_DATA_ADDRESS.

#include <array>
#include <cstdint>
#include <span>
#include <vector>

namespace loopgate::commands {

class FakeModbusSlave {
public:
    explicit FakeModbusSlave(std::uint8_t unit) : unit_(unit) {}

    // Bytes from the master in; the replies to every complete request addressed to this unit out.
    std::vector<std::uint8_t> feed(std::span<const std::uint8_t> bytes, double t_seconds);

private:
    std::vector<std::uint8_t> answer(std::span<const std::uint8_t> request, double t);
    std::uint16_t input_register(std::uint16_t address, double t) const;

    std::uint8_t unit_;
    std::vector<std::uint8_t> pending_;
    std::array<std::uint16_t, 100> holding_{};
};

}  // namespace loopgate::commands
