#pragma once
// Native commands' I/O: a Command arriving on <prefix>/<gateway>/cmd is checked by CommandProcessor
// (gateway/downlink/command_check.hpp), passes the gate it shares with DCMD and goes to its port
// (gateway/downlink/command_path.hpp), and is answered with a CommandResult on
// <prefix>/<gateway>/cmd/reply (QoS 1) once its outcome is known: at once when refused, when the
// device has answered (or the driver gave up) when written. Runs on the event loop thread.
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

class CommandPath;
class Uplink;

class CommandHandler {
public:
    CommandHandler(const Config& config, Uplink& uplink, CommandPath& path);
    void handle(const std::string& payload);
    // Sees every result once it is decided (the status page's recent commands).

private:
    void reply(const v1::CommandResult& result);

    const Config& config_;
    Uplink& uplink_;
    CommandPath& path_;
    CommandProcessor processor_;
    ReplayJournal journal_;
};

// Where the replay window of this config is kept: next to the store, in the state directory.
std::string replay_journal_path(const Config& config);

}  // namespace loopgate
