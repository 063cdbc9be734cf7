#pragma once
// The Modbus RTU bus monitor: listens to another master's transactions and never writes.

#include <memory>
#include <vector>

#include "drivers/driver.hpp"
#include "drivers/modbus_rtu/point_map.hpp"
#include "drivers/modbus_rtu/rtu_frame.hpp"

namespace loopgate::modbus {

// With devices, read replies and confirmed writes decode through the point map of the device with
// the unit id; without, every register and bit is reported raw as unit-<id>/<table>_<address>.
std::unique_ptr<Driver> make_modbus_monitor(rtu::Timing timing, std::vector<Device> devices);

}  // namespace loopgate::modbus
