#pragma once
// `modbus-tcp`: a Modbus TCP client for one server (a meter or PLC with Ethernet, or a TCP-to-RTU
// gateway with several units behind it), on a port whose path is tcp://host[:port].

#include "drivers/driver.hpp"

namespace loopgate {

std::unique_ptr<Driver> make_modbus_tcp_driver(const DriverSpec& spec);


}  // namespace loopgate
