#pragma once
// The Modbus master: polls its devices' point maps and carries writes down to them, over a framing
// (master_framing.hpp): RTU on a serial line, one transaction at a time, or TCP with several in
// flight. Everything above the framing is this one implementation.

#include <chrono>
#include <memory>
#include <vector>

#include "drivers/driver.hpp"
#include "drivers/modbus/master_framing.hpp"
#include "drivers/modbus/point_map.hpp"

namespace loopgate::modbus {

struct MasterSettings {
    std::chrono::milliseconds response_timeout{500};
    std::chrono::milliseconds turnaround_delay{100};
    int retries = 1;
    std::uint16_t max_gap = 10;
    std::uint16_t max_bit_gap = 64;
    int offline_after = 3;
};

// Fed a capture without on_open (the decode command), the master cannot speak: it hands the capture
// to `passive` (a monitor over the same point map), or counts it as noise without one.
std::unique_ptr<Driver> make_modbus_master(std::unique_ptr<MasterFraming> framing, MasterSettings settings,
                                           std::vector<Device> devices, std::unique_ptr<Driver> passive);


}  // namespace loopgate::modbus
