#pragma once
// Drivers, by the name a port's `driver:` field uses.

#include <string>
#include <vector>

#include "drivers/driver.hpp"

namespace loopgate {

std::vector<std::string> driver_names();

// Builds the named driver; throws ConfigError at `name_node` when no driver has that name.
std::unique_ptr<Driver> make_driver(const ConfigNode& name_node, const DriverSpec& spec);

}  // namespace loopgate
