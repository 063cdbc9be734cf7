#pragma once
// The Modbus RTU bus monitor: listens to another master's transactions and never writes.

#include <chrono>
#include <memory>
#include <vector>

#include "drivers/driver.hpp"
#include "drivers/modbus/point_map.hpp"
#include "drivers/modbus_rtu/rtu_frame.hpp"

namespace loopgate::modbus {

// With devices, read replies and confirmed writes decode through the point map of the device with
// the unit id; without, every register and bit is reported raw as unit-<id>/<table>_<address>.
// Frames are found by length and CRC however the bytes were split; the bytes of a frame that never
// completes are dropped once nothing arrived for `frame_timeout`.
std::unique_ptr<Driver> make_modbus_monitor(std::vector<Device> devices, std::chrono::milliseconds frame_timeout);

}  // namespace loopgate::modbus
