#pragma once
// Commands pushed down from the broker, without any I/O: decoding, the checks (shape, signature,
// expiry, replay) and the decision. gateway/downlink/command_handler.hpp wires this to the uplink and
// gateway/downlink/command_path.hpp (the gate and the write both command sources share); unit tests
// (tests/gateway/downlink/test_commands.cpp) and the fuzzer (fuzz/fuzz_command.cpp) drive it directly with fake time.
//
// Order of the checks: decode -> shape (id, names, value) -> signature -> expiry -> replay -> the
// shared gate (which port owns the device, the device's rate) -> the id is recorded -> the driver's
// own checks (writable, type, range, a full queue). Every check answers with an error text; empty
// means it passed.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "drivers/driver.hpp"
#include "gateway/downlink/replay_journal.hpp"
#include "gateway/security/ed25519.hpp"
#include "gateway/security/security_config.hpp"
#include "loopgate.pb.h"

namespace loopgate {

constexpr std::size_t kMaxCommandBytes = 64 * 1024;
constexpr std::size_t kMaxCommandIdLength = 128;

// Parses a payload; empty on success.
std::string decode_command(std::string_view payload, v1::Command& out);
// id present (1-128 bytes, no control characters), device and point valid topic names, a value set.
std::string check_shape(const v1::Command& c);
// A command must carry an expiry that has not passed and lies at most max_lifetime ahead.
std::string check_expiry(std::int64_t expires_ns, std::int64_t now_ns, std::int64_t max_lifetime_ns);
Value command_value(const v1::Command& c);

class OperatorKeys {
public:
    void add(ed25519::Key key) { keys_.push_back(std::move(key)); }
    bool empty() const { return keys_.empty(); }
    // A command with a signature must verify against the named key (or, without key_id, any key);
    // a command without one passes only when signatures are not required.
    std::string check(const v1::Command& c, bool required) const;

private:
    std::vector<ed25519::Key> keys_;
};

// Remembers accepted ids until their command expires. When full of live ids it refuses new commands
// rather than forgetting one that could still be replayed.
class ReplayGuard {
public:
    explicit ReplayGuard(std::size_t capacity) : capacity_(capacity) {}
    std::string check(const std::string& id, std::int64_t now_ns);
    void remember(const std::string& id, std::int64_t expires_ns);
    void forget(const std::string& id);
    std::size_t size() const { return ids_.size(); }
    const std::unordered_map<std::string, std::int64_t>& ids() const { return ids_; }

private:
    void prune(std::int64_t now_ns);
    std::size_t capacity_;
    std::unordered_map<std::string, std::int64_t> ids_;
    std::multimap<std::int64_t, std::string> by_expiry_;
};

// Whether Sparkplug DCMD writes may reach drivers at all: only with commands.enabled, and never
// under commands.require_signature (a Sparkplug payload has no place for an operator signature).
// Returns the refusal, or "" when DCMD writes are allowed (still rate-limited per device, and the
// driver still refuses points that are not writable or values out of range).
std::string dcmd_refusal(const CommandsConfig& config);

// A token bucket per device: `rate` commands per second, bursts of max(1, rate). One per gateway,
// shared by native commands and Sparkplug DCMD (gateway/downlink/command_path.hpp).
class RateLimiter {
public:
    explicit RateLimiter(double rate_per_second) : rate_(rate_per_second), burst_(rate_per_second < 1 ? 1 : rate_per_second) {}
    std::string admit(const std::string& device, std::int64_t now_ns);

private:
    struct Bucket {
        double tokens;
        std::int64_t last_ns;
    };
    double rate_;
    double burst_;
    std::unordered_map<std::string, Bucket> buckets_;
};

// Why a command was not carried out: `reason` is a short stable label (a counter's label, see
// README "Commands"), `error` the text for the reply and the log. Empty reason: it passed.
struct Refusal {
    std::string reason;
    std::string error;
    bool passed() const { return reason.empty(); }
};

// Where checked commands go: the gate shared with DCMD, and the write.
struct CommandTarget {
    // Which port owns the device, and the device's rate; a refusal or none.
    std::function<Refusal(const std::string& device, std::int64_t now_ns)> admit;
    // Hands the write on: a refusal (the driver's: not writable, out of range, queue full), or none
    // once the write is under way; its outcome is the target's to report.
    std::function<Refusal(const v1::Command& c)> submit;
};

// What became of one payload. A command handed to the target leaves result.status() at
// STATUS_UNSPECIFIED: its outcome is not known yet. Otherwise status is REFUSED (or FAILED on an
// internal error) with the error, and `reason` labels it.
struct Admission {
    v1::Command command;       // as far as it decoded
    v1::CommandResult result;  // id, gateway_id, time_ns always; status and error when refused
    std::string reason;
    bool submitted() const { return result.status() == v1::CommandResult::STATUS_UNSPECIFIED; }
};

class CommandProcessor {
public:
    // Throws std::runtime_error when an operator key cannot be loaded.
    CommandProcessor(const CommandsConfig& config, std::string gateway_id);
    CommandProcessor(const CommandsConfig& config, std::string gateway_id, OperatorKeys keys);
    // Decodes and checks one payload, hands it to the target when every check passed, and says how far it got.
    Admission process(std::string_view payload, std::int64_t now_ns, const CommandTarget& target);

    // Persisting the replay window (gateway/downlink/replay_journal.hpp). `save` gets the live ids once a new
    // one is remembered and before the command is carried out; an error from it refuses the command
    // (it could be replayed after a restart otherwise) and forgets the id, so a retry may pass.
    using WindowSaver = std::function<std::string(const std::unordered_map<std::string, std::int64_t>&)>;
    void save_replay_window_with(WindowSaver save) { save_window_ = std::move(save); }
    // Ids accepted by an earlier run. `fence_ns` > 0 when that run's window was lost: every command
    // expiring at or before it could have been issued (and accepted) before this start, so it is
    // refused; commands issued after the start expire later and pass.
    void restore_replay_window(const ReplayIds& ids, std::int64_t fence_ns);

private:
    Refusal check_and_submit(const v1::Command& c, std::int64_t now_ns, const CommandTarget& target);

    CommandsConfig config_;
    std::string gateway_id_;
    OperatorKeys keys_;
    ReplayGuard replay_;
    WindowSaver save_window_;
    std::int64_t replay_fence_ns_ = 0;
};

}  // namespace loopgate
