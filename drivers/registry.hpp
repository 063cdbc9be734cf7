#pragma once
// Drivers, by the name a port's `driver:` field uses.

#include <string>
#include <vector>

#include "drivers/driver.hpp"

namespace loopgate {

std::vector<std::string> driver_names();

// Builds the named driver, wrapped by guard_driver (drivers/reading_guard.hpp) so its readings carry
// clean text and no non-finite value as good; throws ConfigError at `name_node` when no driver has
// that name. Everything that runs a driver for real builds it here.
std::unique_ptr<Driver> make_driver(const ConfigNode& name_node, const DriverSpec& spec);

}  // namespace loopgate
