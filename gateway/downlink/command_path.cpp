#include "gateway/downlink/command_path.hpp"

#include <cstdio>
#include <memory>

#include "core/log.hpp"
#include "core/reading_json.hpp"
#include "core/untrusted_text.hpp"
#include "gateway/downlink/device_router.hpp"

namespace loopgate {

const char* command_status_name(CommandStatus s) {
    switch (s) {
        case CommandStatus::ok: return "ok";
        case CommandStatus::refused: return "refused";
        case CommandStatus::failed: return "failed";
        case CommandStatus::timeout: return "timeout";
    }
    return "failed";
}

CommandCounters::CommandCounters() {
    for (CommandStatus s : {CommandStatus::ok, CommandStatus::refused, CommandStatus::failed, CommandStatus::timeout})
        by_outcome[command_status_name(s)] = 0;
    for (const char* r : kRefusalReasons) refused[r] = 0;
    for (const char* r : kFailureReasons) failed[r] = 0;
}

CommandPath::CommandPath(const CommandsConfig& config, const DeviceRouter& router)
    : router_(router), rate_(config.rate_per_second) {}

Refusal CommandPath::admit(const std::string& device, std::int64_t now_ns) {
    if (!router_.find(device)) return {"unknown_device", "no port has a device '" + device + "'"};
    if (auto e = rate_.admit(device, now_ns); !e.empty()) return {"rate", e};
    return {};
}

Refusal CommandPath::submit(const PendingCommand& command, Done done) {
    PortSession* port = router_.find(command.device);
    if (!port) return {"unknown_device", "no port has a device '" + command.device + "'"};
    WriteRequest request;
    request.device = command.device;
    request.point = command.point;
    request.value = command.value.value_or(Value{});
    request.verify = command.verify;
    WriteResult r = port->submit_write(request, [this, command, done = std::move(done)](const WriteCompletion& c) {
        CommandOutcome outcome = outcome_of(c);
        audit(command, outcome);
        if (done) done(outcome);
    });
    if (!r.accepted) return {r.queue_full ? "queue_full" : "driver", r.error.empty() ? "refused by the driver" : r.error};
    log::debug("command ", command.source, " ", untrusted_text(command.id, kMaxCommandIdLength), ": handed to port ", port->config().name);
    return {};
}

void CommandPath::refused(const PendingCommand& command, const std::string& reason, const std::string& error,
                          CommandStatus status) {
    CommandOutcome o;
    o.status = status;
    o.reason = reason;
    o.error = error;
    audit(command, o);
}

CommandOutcome CommandPath::outcome_of(const WriteCompletion& c) const {
    CommandOutcome o;
    o.error = c.error;
    o.exception_code = c.exception_code;
    o.echoed = c.echoed;
    o.read_back = c.read_back;
    o.device_time_ns = c.device_time_ns;
    switch (c.outcome) {
        case WriteOutcome::ok: o.status = CommandStatus::ok; break;
        case WriteOutcome::timeout: o.status = CommandStatus::timeout; break;
        case WriteOutcome::device_exception:
        case WriteOutcome::verify_mismatch:
            o.status = CommandStatus::failed;
            o.reason = write_outcome_name(c.outcome);
            break;
        case WriteOutcome::line_closed:
        case WriteOutcome::port_closed:
            o.status = CommandStatus::failed;
            o.reason = write_outcome_name(c.outcome);
            // The ports close because the gateway stops: that is the truth the operator needs.
            if (stopping_) {
                o.reason = "gateway_stopping";
                o.error = "gateway stopping";
            }
            break;
    }
    return o;
}

void CommandPath::audit(const PendingCommand& command, const CommandOutcome& outcome) {
    const char* status = command_status_name(outcome.status);
    ++counters_.by_outcome[status];
    if (outcome.status == CommandStatus::refused) ++counters_.refused[outcome.reason];
    if (outcome.status == CommandStatus::failed) ++counters_.failed[outcome.reason];
    double latency_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - command.received).count();
    char latency[32];
    std::snprintf(latency, sizeof latency, "%.1f", latency_ms);
    std::string line = log::concat("command ", command.source, " ", command.id.empty() ? "(no id)" : untrusted_text(command.id, kMaxCommandIdLength),
                                   ": ", command.device.empty() ? "?" : untrusted_text(command.device), "/",
                                   command.point.empty() ? "?" : untrusted_text(command.point), " = ",
                                   command.value ? untrusted_text(value_text(*command.value)) : "?",
                                   command.verify ? " (verify)" : "", ": ", status);
    if (!outcome.reason.empty()) line += " (" + outcome.reason + ")";
    if (!outcome.error.empty()) line += ": " + untrusted_text(outcome.error);
    if (outcome.read_back && outcome.status == CommandStatus::ok)
        line += "; read back " + untrusted_text(value_text(*outcome.read_back));
    log::info(line, " in ", latency, " ms");
    if (observer_) observer_(command, outcome);
}

}  // namespace loopgate
