#include "gateway/downlink/command_handler.hpp"

#include "core/clock.hpp"
#include "core/log.hpp"
#include "core/untrusted_text.hpp"
#include "gateway/downlink/command_path.hpp"
#include "gateway/uplink/uplink.hpp"

namespace loopgate {

std::string replay_journal_path(const Config& config) { return config.store.path + ".command-ids"; }

namespace {

void set_point_value(v1::PointValue& out, const Value& v) {
    if (const auto* d = std::get_if<double>(&v)) out.set_double_value(*d);
    else if (const auto* i = std::get_if<std::int64_t>(&v)) out.set_int_value(*i);
    else if (const auto* b = std::get_if<bool>(&v)) out.set_bool_value(*b);
    else out.set_string_value(std::get<std::string>(v));
}

v1::CommandResult::Status status_of(CommandStatus s) {
    switch (s) {
        case CommandStatus::ok: return v1::CommandResult::OK;
        case CommandStatus::refused: return v1::CommandResult::REFUSED;
        case CommandStatus::failed: return v1::CommandResult::FAILED;
        case CommandStatus::timeout: return v1::CommandResult::TIMEOUT;
    }
    return v1::CommandResult::FAILED;
}

PendingCommand pending_of(const v1::Command& c, std::chrono::steady_clock::time_point received) {
    PendingCommand p;
    p.source = "cmd";
    p.id = c.id();
    p.device = c.device();
    p.point = c.point();
    if (c.value_case() != v1::Command::VALUE_NOT_SET) p.value = command_value(c);
    p.verify = c.verify();
    p.received = received;
    return p;
}

}  // namespace

CommandHandler::CommandHandler(const Config& config, Uplink& uplink, CommandPath& path)
    : config_(config),
      uplink_(uplink),
      path_(path),
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
    const auto received = std::chrono::steady_clock::now();
    const std::int64_t now = wall_now_ns();
    CommandTarget target;
    target.admit = [this](const std::string& device, std::int64_t t) { return path_.admit(device, t); };
    target.submit = [&](const v1::Command& c) {
        v1::CommandResult result;
        result.set_id(c.id());
        result.set_gateway_id(config_.gateway_id);
        result.set_time_ns(now);
        return path_.submit(pending_of(c, received), [this, result](const CommandOutcome& o) mutable {
            result.set_status(status_of(o.status));
            result.set_error(o.error);
            result.set_device_time_ns(o.device_time_ns);
            result.set_exception_code(static_cast<std::uint32_t>(o.exception_code));
            if (o.echoed) set_point_value(*result.mutable_echoed(), *o.echoed);
            if (o.read_back) set_point_value(*result.mutable_read_back(), *o.read_back);
            reply(result);
        });
    };
    Admission a = processor_.process(payload, now, target);
    if (a.submitted()) return;
    PendingCommand p = pending_of(a.command, received);
    p.id = a.result.id();  // only an id known to be printable and bounded
    path_.refused(p, a.reason, a.result.error(),
                  a.result.status() == v1::CommandResult::FAILED ? CommandStatus::failed : CommandStatus::refused);
    reply(a.result);
}

void CommandHandler::reply(const v1::CommandResult& result) {
    // A write may end after the broker went away (or while the gateway stops, after the uplink has
    // closed): the outcome is in the audit line, and there is nobody to tell on the broker.
    if (!uplink_.connected()) {
        log::warning("command ", result.id().empty() ? "(no id)" : untrusted_text(result.id(), kMaxCommandIdLength),
                     ": the uplink is down; its reply is not published");
        return;
    }
    std::string out;
    result.SerializeToString(&out);
    uplink_.publish(config_.command_reply_topic(), out, false, {});
}

}  // namespace loopgate
