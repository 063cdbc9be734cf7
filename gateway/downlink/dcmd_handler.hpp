#pragma once
// Sparkplug DCMD writes, once the Sparkplug stage has decoded them: the commands policy
// (commands.enabled, require_signature), the per-device rate, then the owning port's driver.
// DCMD has no reply topic, so every outcome is logged.

#include <string>
#include <utility>
#include <vector>

#include "core/reading.hpp"
#include "gateway/config.hpp"
#include "gateway/downlink/command_check.hpp"
#include "gateway/downlink/device_router.hpp"

namespace loopgate {

class DcmdHandler {
public:
    DcmdHandler(const Config& config, const DeviceRouter& router);
    void handle(const std::string& device, const std::vector<std::pair<std::string, Value>>& writes);

private:
    const Config& config_;
    const DeviceRouter& router_;
    RateLimiter rate_;
};

}  // namespace loopgate
