#pragma once
// Configuration of the security features: `commands:` (writes pushed down from the broker),
// `signing:` (Ed25519 signatures over published batches) and `remote_config:` (signed configuration
// updates). Parsed by parse_config().

#include <cstdint>
#include <string>
#include <vector>

#include "core/config_node.hpp"

namespace loopgate {

struct CommandsConfig {
    bool enabled = false;
    double rate_per_second = 5;         // per device; the burst is the same number of commands (at least 1)
    std::int64_t max_lifetime_ms = 60'000;  // expires_ns may lie at most this far ahead (the replay window)
    std::size_t id_cache = 10'000;      // ids remembered within the replay window
    bool require_signature = false;
    std::vector<std::string> operator_keys;  // Ed25519 public key PEM files
};

// remote_config: signed configuration updates from the broker (gateway/fleet/; README "Remote configuration").
struct RemoteConfigConfig {
    bool enabled = false;
    std::vector<std::string> keys;      // Ed25519 public key PEM files, apart from commands.operator_keys
    std::int64_t health_timeout_ms = 60'000;  // a new version must prove itself healthy within this
};

struct SigningConfig {
    std::string key_file;               // Ed25519 private key PEM; empty: batches are not signed
};

CommandsConfig parse_commands(const ConfigNode& n);
SigningConfig parse_signing(const ConfigNode& n);
RemoteConfigConfig parse_remote_config(const ConfigNode& n);
// "5/s", "30/min", "100/h" or a bare number (per second); returns commands per second.
double parse_rate(const ConfigNode& n);

}  // namespace loopgate
