#include "gateway/command_handler.hpp"

#include "gateway/log.hpp"
#include "gateway/port_session.hpp"
#include "gateway/uplink.hpp"

namespace loopgate {

CommandHandler::CommandHandler(const Config& config, Uplink& uplink, Router route)
    : config_(config), uplink_(uplink), route_(std::move(route)), processor_(config.commands, config.gateway_id) {}

void CommandHandler::handle(const std::string& payload) {
    CommandTarget target;
    target.has_device = [this](const std::string& device) { return route_(device) != nullptr; };
    target.write = [this](const std::string& device, const std::string& point, const Value& value) {
        WriteResult result{false, "no port has a device '" + device + "'"};
        if (PortSession* s = route_(device))
            s->with_driver([&](Driver& d, DriverOutput&) { result = d.write_point(device, point, value); });
        return result;
    };
    v1::CommandResult r = processor_.process(payload, wall_now_ns(), target);
    if (r.status() == v1::CommandResult::OK)
        log::info("command ", r.id(), ": accepted");
    else
        log::warning("command ", r.id().empty() ? "(no id)" : r.id(), ": ",
                     v1::CommandResult::Status_Name(r.status()), ": ", r.error());
    std::string out;
    r.SerializeToString(&out);
    uplink_.publish(config_.command_reply_topic(), out, false, {});
}

}  // namespace loopgate
