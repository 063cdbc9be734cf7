#pragma once
// The Modbus RTU bus master: polls its devices' point maps, one transaction on the wire at a time,
// and carries writes down to them.

#include <chrono>
#include <memory>
#include <vector>

#include "drivers/driver.hpp"
#include "drivers/modbus_rtu/point_map.hpp"
#include "drivers/modbus_rtu/rtu_frame.hpp"

namespace loopgate::modbus {

struct MasterSettings {
    std::chrono::milliseconds response_timeout{500};
    std::chrono::milliseconds turnaround_delay{100};
    int retries = 1;
    std::uint16_t max_gap = 10;
    std::uint16_t max_bit_gap = 64;
    int offline_after = 3;
};

// Fed a capture without on_open (the decode command), the master cannot speak: it decodes the
// capture passively, as the monitor would, through the same point map.
std::unique_ptr<Driver> make_modbus_master(rtu::Timing timing, MasterSettings settings, std::vector<Device> devices);

}  // namespace loopgate::modbus
