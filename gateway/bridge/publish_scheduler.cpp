#include "gateway/bridge/publish_scheduler.hpp"

#include <algorithm>

namespace loopgate {

void PublishScheduler::acknowledged(std::uint64_t sequence, bool delivered) {
    in_flight_.erase(sequence);
    if (delivered) return;
    replay_cursor_ = 0;
    live_cursor_ = backlog_end_;
}

bool PublishScheduler::ack_may_wait(bool buffered, bool historical, bool draining) const {
    return buffered && !historical && !draining && in_flight_.size() * 2 <= max_inflight_;
}

void PublishScheduler::uplink_up(std::uint64_t open_batch, std::uint64_t last_stored, std::uint64_t connect_failures,
                                 Time now) {
    backlog_end_ = open_batch != 0 ? open_batch - 1 : last_stored;
    if (!ever_connected_ && connect_failures == 0) backlog_end_ = std::min(backlog_end_, stored_before_start_);
    ever_connected_ = true;
    live_cursor_ = backlog_end_;
    replay_cursor_ = 0;
    pacer_.restart(now);
}

PublishScheduler::Offer PublishScheduler::offer_live(std::uint64_t sequence) {
    if (room() == 0) return Offer::stop;
    live_cursor_ = sequence;
    return is_in_flight(sequence) ? Offer::skip : Offer::publish;
}

PublishScheduler::ReplayStep PublishScheduler::next_replay(std::span<const Candidate> candidates,
                                                           std::uint64_t durable_through, Time now) {
    auto it = std::find_if(candidates.begin(), candidates.end(), [&](const Candidate& c) { return !is_in_flight(c.sequence); });
    if (it == candidates.end() || it->sequence > backlog_end_) {
        // Nothing left to replay, unless some of the backlog is not durable yet: then it is offered
        // again once it is.
        if (it != candidates.end() || durable_through >= backlog_end_) replay_cursor_ = backlog_end_;
        return {};
    }
    if (auto wait = pacer_.take(it->readings, now)) return {ReplayStep::Kind::wait, 0, *wait};
    replay_cursor_ = it->sequence;
    return {ReplayStep::Kind::publish, static_cast<std::size_t>(it - candidates.begin()), {}};
}

}  // namespace loopgate
