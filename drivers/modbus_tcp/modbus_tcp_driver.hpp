#pragma once
// `modbus-tcp`: a Modbus TCP client for one server (a meter or PLC with Ethernet, or a TCP-to-RTU
// gateway with several units behind it), on a port whose path is tcp://host[:port].

#include <string>

#include "drivers/driver.hpp"

namespace loopgate {

std::unique_ptr<Driver> make_modbus_tcp_driver(const DriverSpec& spec);

// The port path of a modbus-tcp port: tcp://host[:port], the port 502 (the Modbus TCP port,
// Implementation Guide 4.1) when none is given, so tcp://plc and tcp://plc:502 are one server.
// Throws ConfigError at `path` for anything else (a serial device, rfc2217://: Modbus TCP is not RTU).
std::string modbus_tcp_path(const ConfigNode& path);

}  // namespace loopgate
