#pragma once
// The running gateway: one io_context, the store, the uplink, the bridge and a session per port.

#include "gateway/config.hpp"
#include "gateway/fleet/config_state.hpp"

namespace loopgate {

// What run_gateway() returns when a remote configuration update asks for a restart: the caller runs
// boot_config() again and starts the gateway with what it selects (cli/run.cpp).
constexpr int kRestartGateway = -1;

// Runs until SIGTERM or SIGINT; returns the process exit code, or kRestartGateway. Throws on startup
// errors (store cannot be opened, credentials unreadable...) with a message that names what failed.
int run_gateway(const Boot& boot);

}  // namespace loopgate
