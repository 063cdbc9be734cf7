#pragma once
// Which broker of uplink.brokers the uplink uses, as a pure function of events and time: no I/O, no
// clock of its own (the uplink, gateway/uplink/uplink.hpp, owns the timers, the probes and Paho).
//
// Rules:
//  - the first connect goes to the first broker; a failed connect or a lost connection moves to the
//    next one in the list (wrapping), so a dead broker is never waited for while another answers;
//  - while connected to another broker than the first, the first is probed every probe_interval();
//    once it has answered every probe for failback_after, the uplink leaves for it (failback). A
//    failback whose connect fails doubles the wait for the next one (up to an hour), so a primary
//    that accepts TCP but refuses MQTT costs one short move per period, not a flap;
//  - connecting to another broker than the one connected to last is a failover (its cause: why the
//    last one was left) or, when the uplink left on purpose, a failback; the start counts as having
//    been on the first broker, so starting on a backup is a failover too;
//  - a client id conflict (another client connecting with the same id takes the session over, and
//    the two take turns): the broker said so (MQTT 5 reason 0x8E, session taken over), or three
//    connections in a row ended within short_session of their connect. It clears when a connection
//    lasts clear_after. lost() returns true once per episode, for one clear log line.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

namespace loopgate {

class BrokerFailover {
public:
    using Time = std::chrono::steady_clock::time_point;
    using Duration = std::chrono::milliseconds;

    static constexpr Duration short_session{10'000};
    static constexpr Duration clear_after{60'000};
    static constexpr int short_sessions_for_conflict = 3;
    static constexpr Duration longest_failback_wait{3'600'000};

    // failback_after: 0 stays on whichever broker answers.
    BrokerFailover(std::size_t brokers, Duration failback_after);

    // The broker to connect to next, or the one connected to.
    std::size_t current() const { return current_; }
    bool connected() const { return connected_; }

    struct Move {
        std::size_t from = 0;
        std::size_t to = 0;
        bool failback = false;
        std::string cause;  // why `from` was left
    };
    // A connect to current() succeeded; the move it completes, if the broker changed.
    std::optional<Move> connected(Time now);
    // A connect to current() failed (`why` names the broker and the reason); the next is tried.
    void connect_failed(const std::string& why);
    // The connection to current() ended without the uplink asking. taken_over: the broker said another
    // client took the session over. True when this loss reveals a client id conflict not reported yet.
    bool lost(const std::string& why, Time now, bool taken_over);

    // --- failback
    bool wants_probe() const;
    Duration probe_interval() const;
    // Whether the first broker answered a probe made at `now`.
    void probed(bool answers, Time now);
    bool failback_due(Time now) const;
    // The uplink leaves current() for the first broker: current() becomes 0.
    void failing_back();
    // How long the first broker must answer before the next failback (doubled after a failed one).
    Duration failback_wait() const;

    std::uint64_t failovers() const { return failovers_; }
    std::uint64_t failbacks() const { return failbacks_; }
    const std::string& last_failover_cause() const { return last_cause_; }
    bool client_id_conflict(Time now) const;

private:
    std::size_t brokers_;
    Duration failback_after_;
    std::size_t current_ = 0;
    std::size_t last_connected_ = 0;
    bool connected_ = false;
    Time connected_at_{};
    std::string pending_cause_;  // why the last broker connected to was left; cleared at the next connect
    bool failing_back_ = false;
    int failed_failbacks_ = 0;
    std::optional<Time> answers_since_;
    std::uint64_t failovers_ = 0;
    std::uint64_t failbacks_ = 0;
    std::string last_cause_;
    int short_sessions_ = 0;
    bool conflict_ = false;
};

}  // namespace loopgate
