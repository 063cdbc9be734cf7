#pragma once
// The one way a write travels from a command to a device, whichever source it came from (native
// Command on <prefix>/<gw>/cmd, Sparkplug DCMD): the gate both share (a port owns the device, ONE
// token bucket per device), the owning port's asynchronous write, the audit line and the counters.
//
// Every command is logged exactly once, at info, when its outcome is known: source, id, device,
// point, value, outcome (with the reason) and latency. Counters by outcome, refusal reason and
// failure reason feed the status JSON and Prometheus (gateway/ops/status.cpp). Runs on the event loop.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include "core/reading.hpp"
#include "drivers/driver.hpp"
#include "gateway/config.hpp"
#include "gateway/downlink/command_check.hpp"

namespace loopgate {

class DeviceRouter;

enum class CommandStatus { ok, refused, failed, timeout };
const char* command_status_name(CommandStatus s);  // ok, refused, failed, timeout

// How a command ended. `reason` is the counter label of a refusal or failure (bounded: see
// kRefusalReasons and kFailureReasons); `error` the text for the reply and the log.
struct CommandOutcome {
    CommandStatus status = CommandStatus::ok;
    std::string reason;
    std::string error;
    int exception_code = 0;
    std::optional<Value> echoed;
    std::optional<Value> read_back;
    std::int64_t device_time_ns = 0;
};

// The label sets, fixed so that no input can grow them.
inline constexpr const char* kRefusalReasons[] = {"malformed", "signature", "expiry", "replay", "journal", "policy",
                                                  "unknown_device", "rate", "driver", "queue_full"};
inline constexpr const char* kFailureReasons[] = {"device_exception", "verify_mismatch", "port_closed",
                                                  "line_closed", "gateway_stopping", "error"};

struct CommandCounters {
    std::map<std::string, std::uint64_t> by_outcome;  // every CommandStatus name, from zero
    std::map<std::string, std::uint64_t> refused;     // every kRefusalReasons label, from zero
    std::map<std::string, std::uint64_t> failed;      // every kFailureReasons label, from zero
    CommandCounters();
};

// One command on its way, as the audit line tells it.
struct PendingCommand {
    const char* source = "cmd";  // "cmd" (native) or "dcmd" (Sparkplug)
    std::string id;              // the native command's id; DCMD has none, the path numbers them
    std::string device;
    std::string point;
    std::optional<Value> value;  // none when the payload did not decode that far
    bool verify = false;
    std::chrono::steady_clock::time_point received = std::chrono::steady_clock::now();
};

class CommandPath {
public:
    using Done = std::function<void(const CommandOutcome&)>;

    CommandPath(const CommandsConfig& config, const DeviceRouter& router);

    // The gate after each source's own checks: a port owns the device, and the device's rate.
    Refusal admit(const std::string& device, std::int64_t now_ns);
    // Hands an admitted command to its port. A refusal (the driver's, or no port any more) is
    // returned and not audited: the source reports it through refused(). Otherwise `done` runs once
    // with the outcome, after the audit line and the counters.
    Refusal submit(const PendingCommand& command, Done done);
    // A command that ended before it reached a port: audited and counted.
    void refused(const PendingCommand& command, const std::string& reason, const std::string& error,
                 CommandStatus status = CommandStatus::refused);
    // From now on a write that ends because its port closed is "gateway stopping".
    void stopping() { stopping_ = true; }

    std::string next_dcmd_id() { return "dcmd-" + std::to_string(++dcmd_count_); }
    const CommandCounters& counters() const { return counters_; }
    // Told every audited outcome, after its audit line (the status page's recent commands).
    using Observer = std::function<void(const PendingCommand&, const CommandOutcome&)>;
    void on_audit(Observer observer) { observer_ = std::move(observer); }

private:
    void audit(const PendingCommand& command, const CommandOutcome& outcome);
    CommandOutcome outcome_of(const WriteCompletion& c) const;

    const DeviceRouter& router_;
    RateLimiter rate_;
    CommandCounters counters_;
    bool stopping_ = false;
    std::uint64_t dcmd_count_ = 0;
    Observer observer_;
};

}  // namespace loopgate
