#include "gateway/uplink/broker_failover.hpp"

#include <algorithm>

namespace loopgate {

BrokerFailover::BrokerFailover(std::size_t brokers, Duration failback_after)
    : brokers_(std::max<std::size_t>(brokers, 1)), failback_after_(failback_after) {}

std::optional<BrokerFailover::Move> BrokerFailover::connected(Time now) {
    connected_ = true;
    connected_at_ = now;
    answers_since_.reset();
    std::optional<Move> move;
    if (current_ != last_connected_) {
        move = Move{last_connected_, current_, failing_back_ && current_ == 0, pending_cause_};
        if (move->failback) {
            ++failbacks_;
            move->cause = "failback";
        } else {
            ++failovers_;
            last_cause_ = pending_cause_;
        }
    }
    if (current_ == 0) failed_failbacks_ = 0;
    failing_back_ = false;
    last_connected_ = current_;
    pending_cause_.clear();
    return move;
}

void BrokerFailover::connect_failed(const std::string& why) {
    if (pending_cause_.empty()) pending_cause_ = why;
    if (failing_back_ && current_ == 0) {
        failed_failbacks_ = std::min(failed_failbacks_ + 1, 20);
        failing_back_ = false;
    }
    current_ = (current_ + 1) % brokers_;
}

bool BrokerFailover::lost(const std::string& why, Time now, bool taken_over) {
    if (!connected_) return false;
    connected_ = false;
    pending_cause_ = why;
    current_ = (current_ + 1) % brokers_;
    bool was_conflict = conflict_;
    if (now - connected_at_ < short_session) ++short_sessions_;
    else short_sessions_ = 0;
    if (now - connected_at_ >= clear_after) conflict_ = false;
    if (taken_over || short_sessions_ >= short_sessions_for_conflict) conflict_ = true;
    return conflict_ && !was_conflict;
}

bool BrokerFailover::wants_probe() const {
    return connected_ && current_ != 0 && failback_after_.count() > 0;
}

BrokerFailover::Duration BrokerFailover::probe_interval() const {
    return std::clamp(failback_after_ / 4, Duration{1000}, Duration{30'000});
}

void BrokerFailover::probed(bool answers, Time now) {
    if (!answers) answers_since_.reset();
    else if (!answers_since_) answers_since_ = now;
}

BrokerFailover::Duration BrokerFailover::failback_wait() const {
    Duration wait = failback_after_;
    for (int i = 0; i < failed_failbacks_ && wait < longest_failback_wait; ++i) wait *= 2;
    return std::min(wait, std::max(failback_after_, longest_failback_wait));
}

bool BrokerFailover::failback_due(Time now) const {
    return wants_probe() && answers_since_ && now - *answers_since_ >= failback_wait();
}

void BrokerFailover::failing_back() {
    connected_ = false;
    failing_back_ = true;
    pending_cause_ = "failback";
    answers_since_.reset();
    current_ = 0;
}

bool BrokerFailover::client_id_conflict(Time now) const {
    return conflict_ && !(connected_ && now - connected_at_ >= clear_after);
}

}  // namespace loopgate
