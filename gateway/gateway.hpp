#pragma once
// The running gateway: one io_context, the store, the uplink, the bridge and a session per port.

#include "gateway/config.hpp"

namespace loopgate {

// Runs until SIGTERM or SIGINT; returns the process exit code. Throws on startup errors (store
// cannot be opened, credentials unreadable...) with a message that names what failed.
int run_gateway(const Config& config);

}  // namespace loopgate
