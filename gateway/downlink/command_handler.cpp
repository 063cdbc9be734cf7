#include "gateway/downlink/command_handler.hpp"

#include "core/clock.hpp"
#include "core/log.hpp"
#include "gateway/downlink/device_router.hpp"
#include "gateway/uplink/uplink.hpp"

namespace loopgate {

std::string replay_journal_path(const Config& config) { return config.store.path + ".command-ids"; }

CommandHandler::CommandHandler(const Config& config, Uplink& uplink, const DeviceRouter& router)
    : config_(config),
      uplink_(uplink),
      router_(router),
      processor_(config.commands, config.gateway_id),
      journal_(replay_journal_path(config)) {
    if (!config.commands.enabled) return;
    std::int64_t now = wall_now_ns();
    ReplayWindow window = journal_.load(now);
    std::int64_t fence = 0;
    if (!window.problem.empty()) {
        fence = now + config.commands.max_lifetime_ms * 1'000'000;
        log::error("commands: the replay window of the previous run is lost (", window.problem,
                   "); for commands.max_lifetime (", config.commands.max_lifetime_ms / 1000,
                   " s) commands that could have been issued before this start are refused; the file is "
                   "rewritten with the next accepted command");
    } else if (!window.ids.empty()) {
        log::info("commands: ", window.ids.size(), " command ids from the previous run are still refused as replays");
    }
    processor_.restore_replay_window(window.ids, fence);
    processor_.save_replay_window_with(
        [this](const std::unordered_map<std::string, std::int64_t>& ids) { return journal_.save(ids); });
}

void CommandHandler::handle(const std::string& payload) {
    CommandTarget target;
    target.has_device = [this](const std::string& device) { return router_.find(device) != nullptr; };
    target.write = [this](const std::string& device, const std::string& point, const Value& value) {
        return router_.write(device, point, value);
    };
    v1::CommandResult r = processor_.process(payload, wall_now_ns(), target);
    if (r.status() == v1::CommandResult::OK)
        log::info("command ", r.id(), ": accepted");
    else
        log::warning("command ", r.id().empty() ? "(no id)" : r.id(), ": ",
                     v1::CommandResult::Status_Name(r.status()), ": ", r.error());
    if (on_result_) on_result_(r);
    std::string out;
    r.SerializeToString(&out);
    uplink_.publish(config_.command_reply_topic(), out, false, {});
}

}  // namespace loopgate
