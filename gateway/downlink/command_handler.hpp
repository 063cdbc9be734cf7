#pragma once
// The command path's I/O: a Command arriving on <prefix>/<gateway>/cmd is checked by CommandProcessor
// (gateway/downlink/command_check.hpp), handed to the PortSession whose driver owns the device, and answered with
// a CommandResult on <prefix>/<gateway>/cmd/reply (QoS 1). Runs on the event loop thread.
//
// The replay window survives restarts: accepted ids are saved to <store.path>.command-ids before the
// write reaches the device (gateway/downlink/replay_journal.hpp). When that file is damaged or unreadable at
// start, the handler says so once and fails closed: commands that could have been issued before the
// start (expiring within max_lifetime of it) are refused.

#include <functional>
#include <string>

#include "gateway/config.hpp"
#include "gateway/downlink/command_check.hpp"
#include "gateway/downlink/replay_journal.hpp"

namespace loopgate {

class DeviceRouter;
class Uplink;

class CommandHandler {
public:
    CommandHandler(const Config& config, Uplink& uplink, const DeviceRouter& router);
    void handle(const std::string& payload);
    // Sees every result once it is decided (the status page's recent commands).
    void on_result(std::function<void(const v1::CommandResult&)> f) { on_result_ = std::move(f); }

private:
    const Config& config_;
    Uplink& uplink_;
    const DeviceRouter& router_;
    CommandProcessor processor_;
    ReplayJournal journal_;
    std::function<void(const v1::CommandResult&)> on_result_;
};

// Where the replay window of this config is kept: next to the store, in the state directory.
std::string replay_journal_path(const Config& config);

}  // namespace loopgate
