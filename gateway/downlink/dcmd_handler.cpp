#include "gateway/downlink/dcmd_handler.hpp"

#include "core/clock.hpp"

namespace loopgate {

DcmdHandler::DcmdHandler(const Config& config, CommandPath& path) : config_(config), path_(path) {}

void DcmdHandler::handle(const std::string& device, const std::vector<std::pair<std::string, Value>>& writes) {
    const std::string policy = dcmd_refusal(config_.commands);
    for (const auto& [metric, value] : writes) {
        PendingCommand command;
        command.source = "dcmd";
        command.id = path_.next_dcmd_id();
        command.device = device;
        command.point = metric;
        command.value = value;
        command.verify = true;
        Refusal r = policy.empty() ? path_.admit(device, wall_now_ns()) : Refusal{"policy", policy};
        if (r.passed()) r = path_.submit(command, {});
        if (!r.passed()) path_.refused(command, r.reason, r.error);
    }
}

}  // namespace loopgate
