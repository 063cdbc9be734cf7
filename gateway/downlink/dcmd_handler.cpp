#include "gateway/downlink/dcmd_handler.hpp"

#include "core/clock.hpp"
#include "core/log.hpp"

namespace loopgate {

DcmdHandler::DcmdHandler(const Config& config, const DeviceRouter& router)
    : config_(config), router_(router), rate_(config.commands.rate_per_second) {}

void DcmdHandler::handle(const std::string& device, const std::vector<std::pair<std::string, Value>>& writes) {
    std::string policy = dcmd_refusal(config_.commands);
    for (const auto& [metric, value] : writes) {
        // The same gate and per-device rate as <prefix>/<gw>/cmd, then the driver's own checks.
        std::string refused = policy.empty() ? rate_.admit(device, wall_now_ns()) : policy;
        WriteResult r = refused.empty() ? router_.write(device, metric, value) : WriteResult{false, refused};
        if (r.accepted) log::info("sparkplug: DCMD ", device, "/", metric, " accepted");
        else log::warning("sparkplug: DCMD ", device, "/", metric, " refused: ", r.error);
    }
}

}  // namespace loopgate
