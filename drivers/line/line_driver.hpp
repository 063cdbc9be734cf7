#pragma once
// `line`: ASCII sensors that print one record per line (weather stations, lab balances, gas analysers).

#include "drivers/driver.hpp"

namespace loopgate {

std::unique_ptr<Driver> make_line_driver(const DriverSpec& spec);

}  // namespace loopgate
