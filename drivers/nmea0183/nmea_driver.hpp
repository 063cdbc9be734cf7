#pragma once
// `nmea0183`: GPS/GNSS receivers and marine instruments that talk NMEA 0183 (listen only).

#include "drivers/driver.hpp"

namespace loopgate {

std::unique_ptr<Driver> make_nmea_driver(const DriverSpec& spec);

}  // namespace loopgate
