#pragma once
// The one line `systemctl status loopgate` shows under the unit (sd_notify STATUS=): what an operator
// logged in over ssh wants first, refreshed with every watchdog ping.

#include <string>

#include "gateway/ops/status.hpp"

namespace loopgate {

// "uplink connected, store holding 3 batches, ports open 2/2"
std::string service_status_text(const GatewayView& view);

}  // namespace loopgate
