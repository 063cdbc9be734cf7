#pragma once
// `modbus-rtu`: a Modbus RTU bus master (or a passive bus monitor) over one serial line.

#include "drivers/driver.hpp"

namespace loopgate {

// Builds the driver from the port's settings and devices. With neither given (the decode command
// without a config) it becomes a monitor that reports raw register values; that never throws.
std::unique_ptr<Driver> make_modbus_driver(const DriverSpec& spec);

}  // namespace loopgate
