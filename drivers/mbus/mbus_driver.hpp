#pragma once
// `mbus`: a wired M-Bus master (EN 13757-2/-3) over one serial line, or, fed a capture without an
// open line (`loopgate decode --driver mbus`), a passive decoder of the RSP_UD frames in it.

#include "drivers/driver.hpp"

namespace loopgate {

// Builds the driver from the port's settings and devices. With neither (the decode command without
// a config) it only decodes what it is fed; that never throws.
std::unique_ptr<Driver> make_mbus_driver(const DriverSpec& spec);

}  // namespace loopgate
