#pragma once
// Signed configuration updates pushed down from the broker, without any I/O: decoding, the checks and
// the decision. gateway/fleet/remote_config.hpp wires this to the uplink, the state directory and the
// restart; unit tests (tests/gateway/fleet/test_config_update.cpp) and the fuzzer (fuzz/fuzz_config_update.cpp)
// drive it directly with fake time.
//
// Order of the checks: size and decode -> retained -> target gateway -> signature -> expiry -> version ->
// validation exactly as `loopgate check-config` (the same loader, so the same located errors) ->
// settings a remote update may not change. The first failure is the refusal's reason.

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gateway/config.hpp"
#include "gateway/security/ed25519.hpp"
#include "loopgate.pb.h"

namespace loopgate {

constexpr std::size_t kMaxConfigUpdateBytes = 1024 * 1024;

// The name located errors give the update's YAML text ("remote config version 7:3:5: ...").
std::string update_source_name(std::uint64_t version);

// Remote settings that would let a stolen key lock out the key's owner, or move data the store
// already holds: empty when `next` leaves them as `running` has them, else what changed.
std::string locked_setting_change(const Config& running, const Config& next);

struct UpdateDecision {
    std::string refusal;            // empty: accepted
    std::uint64_t version = 0;      // 0 when the payload did not decode
    std::string sha256;             // of the YAML text, when decoded
    std::string yaml;
    std::optional<Config> config;   // the validated configuration, when accepted
};

class ConfigUpdateChecker {
public:
    // Throws std::runtime_error naming the file when a key cannot be loaded.
    explicit ConfigUpdateChecker(const RemoteConfigConfig& config);
    explicit ConfigUpdateChecker(std::vector<ed25519::Key> keys) : keys_(std::move(keys)) {}

    // `highest_version` is the highest version this gateway ever accepted (0: none).
    UpdateDecision check(std::string_view payload, bool retained, const Config& running,
                         std::uint64_t highest_version, std::int64_t now_ns) const;

private:
    std::string check_signature(const v1::ConfigUpdate& u) const;
    std::vector<ed25519::Key> keys_;
};

}  // namespace loopgate
