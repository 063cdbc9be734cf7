#pragma once
// The catalog of the gateway as it runs now: the ports' slots as a reload left them, their drivers'
// devices and report plans, the latest values and the devices' online state, fed to catalog_json.

#include <cstdint>
#include <list>
#include <string>

#include "gateway/config.hpp"
#include "gateway/ops/device_presence.hpp"
#include "gateway/ops/live_values.hpp"
#include "gateway/serial/port_session.hpp"

namespace loopgate {

std::string running_catalog(const Config& config, std::list<PortSlot>& ports, const LiveValues& live,
                            const DevicePresence& presence, std::uint64_t config_version, const std::string& config_sha256);

}  // namespace loopgate
