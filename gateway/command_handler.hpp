#pragma once
// The command path's I/O: a Command arriving on <prefix>/<gateway>/cmd is checked by CommandProcessor
// (gateway/command_check.hpp), handed to the PortSession whose driver owns the device, and answered with
// a CommandResult on <prefix>/<gateway>/cmd/reply (QoS 1). Runs on the event loop thread.

#include <functional>
#include <string>

#include "gateway/command_check.hpp"
#include "gateway/config.hpp"

namespace loopgate {

class PortSession;
class Uplink;

class CommandHandler {
public:
    // `route` finds the session owning a device, or nullptr.
    using Router = std::function<PortSession*(const std::string& device)>;
    CommandHandler(const Config& config, Uplink& uplink, Router route);
    void handle(const std::string& payload);

private:
    const Config& config_;
    Uplink& uplink_;
    Router route_;
    CommandProcessor processor_;
};

}  // namespace loopgate
