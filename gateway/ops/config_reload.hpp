#pragma once
// SIGHUP: the configuration file is read again and the ports follow it (gateway/serial/port_set.hpp).
// An invalid file changes nothing. Readings already read are committed, so nothing is lost; the
// gateway, uplink and store sections apply at the next restart, which the log says.

#include "gateway/config.hpp"
#include "gateway/serial/port_set.hpp"

namespace loopgate {

void reload_ports(const Config& running, PortSet& ports);

}  // namespace loopgate
