#include "gateway/fleet/remote_config.hpp"

#include <unistd.h>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "gateway/downlink/device_router.hpp"
#include "gateway/uplink/uplink.hpp"

namespace loopgate {

namespace {

constexpr auto kHealthCheckEvery = std::chrono::milliseconds(250);
// How long the "accepted" reply may take to reach the broker before the restart goes ahead anyway.
constexpr auto kAcceptedReplyWait = std::chrono::seconds(3);

// The one driver that asks its devices for data: silence on its port means it is not working. The
// listeners (line, NMEA) may legitimately hear nothing for a while, so an open port is all they prove.
bool polls_its_devices(const PortConfig& port) { return port.driver.present() && port.driver.as_string() == "modbus-rtu"; }

v1::ConfigReply::Status reply_status(const std::string& word) {
    return word == "applied" ? v1::ConfigReply::APPLIED : v1::ConfigReply::ROLLED_BACK;
}

}  // namespace

RemoteConfigAgent::RemoteConfigAgent(boost::asio::io_context& io, const Boot& boot, Uplink& uplink,
                                     std::list<PortSlot>& ports, std::function<void()> restart)
    : io_(io),
      boot_(boot),
      uplink_(uplink),
      ports_(ports),
      restart_(std::move(restart)),
      checker_(boot.config.remote_config),
      dir_(remote_config_dir(boot.config)),
      trial_(boot.trial),
      health_timer_(io),
      restart_timer_(io) {
    if (!enabled()) return;
    std::string problem;
    state_ = load_state(state_file_path(dir_), problem);
    if (!problem.empty()) {
        state_problem_ = problem;
        if (boot.state_problem.empty())  // else boot_config said so already
            log::error("remote config: ", problem, "; every remote update is refused until it is repaired");
    }
}

void RemoteConfigAgent::start() {
    if (!enabled()) return;
    uplink_.subscribe(boot_.config.config_set_topic(),
                      [this](const std::string&, const std::string& payload) {
                          handle(payload, uplink_.delivering_retained());
                      });
    if (!trial_) return;
    deadline_ = std::chrono::steady_clock::now() + std::chrono::milliseconds(boot_.config.remote_config.health_timeout_ms);
    log::info("remote config: version ", boot_.version, " is on trial for ",
              boot_.config.remote_config.health_timeout_ms / 1000, " s");
    check_health();
}

void RemoteConfigAgent::stop() {
    stopped_ = true;
    health_timer_.cancel();
    restart_timer_.cancel();
}

std::string RemoteConfigAgent::save(const RemoteConfigState& next) {
    // Writing over an unreadable state would replace the replay mark nobody can read with a lower one.
    if (!state_problem_.empty()) return "the state file is unreadable (" + state_problem_ + ")";
    if (auto e = save_state(state_file_path(dir_), next); !e.empty()) return e;
    state_ = next;
    return {};
}

void RemoteConfigAgent::reply(int status, std::uint64_t version, const std::string& sha256, const std::string& reason,
                              std::function<void(bool)> on_done) {
    v1::ConfigReply r;
    r.set_status(static_cast<v1::ConfigReply::Status>(status));
    r.set_version(version);
    r.set_sha256(sha256);
    r.set_reason(reason);
    r.set_gateway_id(boot_.config.gateway_id);
    r.set_time_ns(wall_now_ns());
    r.set_running_version(boot_.version);
    std::string out;
    r.SerializeToString(&out);
    uplink_.publish(boot_.config.config_reply_topic(), out, false, std::move(on_done));
}

void RemoteConfigAgent::handle(const std::string& payload, bool retained) {
    if (stopped_) return;
    std::uint64_t highest = state_.highest;
    UpdateDecision d = checker_.check(payload, retained, boot_.config, highest, wall_now_ns());
    if (d.refusal.empty() && !state_problem_.empty())
        d.refusal = "the state file is unreadable (" + state_problem_ +
                    "), so the highest version accepted is unknown: no update is accepted until it is repaired";
    if (d.refusal.empty() && (restarting_ || trial_))
        d.refusal = trial_ ? "version " + std::to_string(boot_.version) +
                                 " is still on trial; send the update again once it is applied or rolled back"
                           : "the gateway is restarting with another update";
    std::string saved;
    if (d.refusal.empty()) saved = save_version(dir_, d.version, d.yaml);
    if (d.refusal.empty() && saved.empty()) {
        RemoteConfigState next = state_;
        next.highest = d.version;
        next.pending = d.version;
        saved = save(next);
    }
    if (d.refusal.empty() && !saved.empty()) d.refusal = "cannot save the update: " + saved;
    if (!d.refusal.empty()) {
        ++counts_.refused;
        log::warning("remote config: update", d.version ? " version " + std::to_string(d.version) : std::string(),
                     " refused: ", d.refusal);
        reply(v1::ConfigReply::REFUSED, d.version, d.sha256, d.refusal, {});
        return;
    }
    ++counts_.accepted;
    restarting_ = true;
    log::info("remote config: version ", d.version, " accepted (sha256 ", d.sha256, "); restarting with it");
    auto go = [this] {
        if (stopped_) return;
        restart_timer_.cancel();
        stopped_ = true;
        restart_();
    };
    reply(v1::ConfigReply::ACCEPTED, d.version, d.sha256, "", [go](bool) { go(); });
    restart_timer_.expires_after(kAcceptedReplyWait);
    restart_timer_.async_wait([go](const boost::system::error_code& ec) {
        if (!ec) go();
    });
}

std::string RemoteConfigAgent::unhealthy_reason() const {
    if (!uplink_.connected()) return "the uplink did not connect to " + boot_.config.uplink.broker;
    for (const std::string& name : boot_.changed_ports) {
        const PortSlot* slot = nullptr;
        for (const PortSlot& s : ports_)
            if (s.config->name == name) slot = &s;
        if (!slot || !slot->session) continue;  // removed by a later SIGHUP: nothing left to prove
        if (!slot->session->stats().open) return "port " + name + " (" + slot->config->path + ") did not open";
        if (polls_its_devices(*slot->config) && !ports_with_good_reading_.count(name))
            return "port " + name + " delivered no good reading";
    }
    return {};
}

void RemoteConfigAgent::observe(const std::vector<Reading>& readings) {
    if (!trial_) return;
    DeviceRouter router(ports_);
    for (const Reading& r : readings) {
        if (r.quality != Quality::good) continue;
        if (PortSession* s = router.find(r.device)) ports_with_good_reading_.insert(s->config().name);
    }
}

void RemoteConfigAgent::check_health() {
    if (stopped_ || !trial_) return;
    std::string why = unhealthy_reason();
    if (why.empty()) return commit();
    if (std::chrono::steady_clock::now() >= deadline_)
        return roll_back(why + " within remote_config.health_timeout (" +
                         std::to_string(boot_.config.remote_config.health_timeout_ms / 1000) + " s)");
    health_timer_.expires_after(kHealthCheckEvery);
    health_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) check_health();
    });
}

void RemoteConfigAgent::commit() {
    RemoteConfigState next = state_;
    std::uint64_t previous = next.good;
    next.good = boot_.version;
    next.trial = 0;
    next.trial_deadline_ns = 0;
    next.report_version = boot_.version;
    next.report_status = "applied";
    next.report_reason.clear();
    next.report_sha256 = boot_.sha256;
    if (auto e = save(next); !e.empty()) {
        // Not recorded as good, so the next start would roll it back: say so now rather than then.
        return roll_back("cannot record version " + std::to_string(boot_.version) + " as last-known-good: " + e);
    }
    trial_ = false;
    ++counts_.applied;
    if (previous != 0 && previous != boot_.version) ::unlink(version_file_path(dir_, previous).c_str());
    log::info("remote config: version ", boot_.version, " passed the health gate; it is the last-known-good version");
    publish_report();
}

void RemoteConfigAgent::roll_back(const std::string& why) {
    RemoteConfigState next = state_;
    next.trial = 0;
    next.trial_deadline_ns = 0;
    next.report_version = boot_.version;
    next.report_status = "rolled_back";
    next.report_reason = why;
    next.report_sha256 = boot_.sha256;
    if (auto e = save(next); !e.empty())
        // The trial stays recorded, so the next start rolls back all the same, with a vaguer reason.
        log::error("remote config: ", e);
    ++counts_.rolled_back;
    trial_ = false;
    stopped_ = true;
    log::error("remote config: rolling back version ", boot_.version, ": ", why);
    restart_();
}

void RemoteConfigAgent::on_connected() {
    if (!enabled()) return;
    publish_report();
}

void RemoteConfigAgent::publish_report() {
    if (state_.report_version == 0 || reporting_ || !uplink_.connected()) return;
    reporting_ = true;
    std::uint64_t version = state_.report_version;
    reply(reply_status(state_.report_status), version, state_.report_sha256, state_.report_reason,
          [this, version](bool delivered) {
              reporting_ = false;
              if (!delivered || state_.report_version != version) return;
              RemoteConfigState next = state_;
              next.report_version = 0;
              next.report_status.clear();
              next.report_reason.clear();
              next.report_sha256.clear();
              if (auto e = save(next); !e.empty()) log::error("remote config: ", e);
          });
}

}  // namespace loopgate
