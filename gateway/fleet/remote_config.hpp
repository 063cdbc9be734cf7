#pragma once
// The remote configuration path's I/O (README "Remote configuration"): a ConfigUpdate arriving on
// <prefix>/<gateway>/config/set is decided by ConfigUpdateChecker (gateway/fleet/config_update.hpp),
// saved under the state directory, and applied by restarting the whole gateway in-process with it
// (cli/run.cpp asks boot_config again). Every part - uplink, store, ports - then starts from the new
// file exactly as at boot, and a crash at any step leaves a state that boot selection rolls back.
//
// The new version runs on trial: within remote_config.health_timeout the uplink must be connected and
// every port it changed must be open and, for a polling driver, have delivered a good reading. Then
// it is committed as last-known-good ("applied"); otherwise the gateway records a rollback and
// restarts with the last-known-good version ("rolled_back", with the reason). Replies go to
// <prefix>/<gateway>/config/reply; an outcome decided while the broker is unreachable is kept in the
// state file and published at the next connect.

#include <cstdint>
#include <functional>
#include <list>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/reading.hpp"
#include "gateway/fleet/config_state.hpp"
#include "gateway/fleet/config_update.hpp"
#include "gateway/serial/port_session.hpp"

namespace loopgate {

class Uplink;

struct RemoteConfigCounts {
    std::uint64_t accepted = 0;
    std::uint64_t refused = 0;
    std::uint64_t applied = 0;
    std::uint64_t rolled_back = 0;
};

class RemoteConfigAgent {
public:
    // `restart` stops the gateway cleanly and starts it again with what boot_config() selects then.
    RemoteConfigAgent(boost::asio::io_context& io, const Boot& boot, Uplink& uplink, std::list<PortSlot>& ports,
                      std::function<void()> restart);
    RemoteConfigAgent(const RemoteConfigAgent&) = delete;
    RemoteConfigAgent& operator=(const RemoteConfigAgent&) = delete;

    // Subscribes to the config topic (before the uplink starts) and, on trial, arms the health gate.
    void start();
    void stop();
    // The uplink (re)connected: publishes an outcome still waiting in the state file.
    void on_connected();
    // Every reading a port produced: a good one counts for its port's health.
    void observe(const std::vector<Reading>& readings);

    bool enabled() const { return boot_.config.remote_config.enabled; }
    std::uint64_t version() const { return boot_.version; }  // 0: the local file
    const std::string& sha256() const { return boot_.sha256; }
    bool on_trial() const { return trial_; }
    const RemoteConfigCounts& counts() const { return counts_; }
    // Why the state file cannot be read (located); "" when it can. While it cannot, every update is
    // refused: its replay mark is unknown.
    const std::string& state_problem() const { return state_problem_; }

    // Why the trial is not healthy yet; "" when it is.
    std::string unhealthy_reason() const;

private:
    void handle(const std::string& payload, bool retained);
    void reply(int status, std::uint64_t version, const std::string& sha256, const std::string& reason,
               std::function<void(bool)> on_done);
    void check_health();
    void commit();
    void roll_back(const std::string& why);
    void publish_report();
    std::string save(const RemoteConfigState& next);

    boost::asio::io_context& io_;
    const Boot& boot_;
    Uplink& uplink_;
    std::list<PortSlot>& ports_;
    std::function<void()> restart_;
    ConfigUpdateChecker checker_;
    std::string dir_;
    RemoteConfigState state_;
    std::string state_problem_;
    bool trial_ = false;
    bool restarting_ = false;
    bool stopped_ = false;
    bool reporting_ = false;
    std::set<std::string> ports_with_good_reading_;
    boost::asio::steady_timer health_timer_;
    boost::asio::steady_timer restart_timer_;
    std::chrono::steady_clock::time_point deadline_;
    RemoteConfigCounts counts_;
};

}  // namespace loopgate
