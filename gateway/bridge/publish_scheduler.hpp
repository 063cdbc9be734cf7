#pragma once
// Which stored batch the bridge publishes next, and when. Two streams share the uplink's in-flight
// window: live batches (closed since the uplink came up) go first, because they are at most what the
// devices produce, so the backlog always gets the rest; the backlog (batches stored before the uplink
// came up, flagged historical) drains oldest first, paced by store.replay_rate. A failed publish sends
// everything unacknowledged again, oldest first.
//
// Pure: the shell reads the candidate batches from the store (after the cursor, as many as the
// limit says), offers them here one at a time and publishes what it is told to, so a publisher that
// answers synchronously still sees the window as it is.

#include <algorithm>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <set>
#include <span>

#include "gateway/bridge/replay_pacer.hpp"

namespace loopgate {

class PublishScheduler {
public:
    using Time = std::chrono::steady_clock::time_point;

    // A stored batch as the schedule sees it.
    struct Candidate {
        std::uint64_t sequence = 0;
        std::size_t readings = 0;
    };

    // stored_before_start: the last batch a previous run left in the store.
    PublishScheduler(std::size_t max_inflight, double replay_rate, std::uint64_t stored_before_start)
        : max_inflight_(max_inflight), pacer_(replay_rate), stored_before_start_(stored_before_start) {}

    // --- the in-flight window
    std::size_t room() const { return max_inflight_ - std::min(max_inflight_, in_flight_.size()); }
    const std::set<std::uint64_t>& in_flight() const { return in_flight_; }
    bool is_in_flight(std::uint64_t sequence) const { return in_flight_.count(sequence) > 0; }
    void published(std::uint64_t sequence) { in_flight_.insert(sequence); }
    // A failure publishes everything unacknowledged again, oldest first, once the uplink is back.
    void acknowledged(std::uint64_t sequence, bool delivered);
    // Whether a publish's acknowledgement may wait in the uplink's AckInbox (call after published()):
    // only a buffered live batch's, while the window is at most half full (the next read needs the
    // room, and nothing else does). A replay and a shutdown drain run on acknowledgements.
    bool ack_may_wait(bool buffered, bool historical, bool draining) const;

    // --- the uplink came up
    // open_batch: the batch open now (0: none); last_stored: the newest batch in the store;
    // connect_failures: the uplink's count so far. Everything closed or open until now is backlog;
    // what closes from here on is live. Except on the first connection, made at the first attempt:
    // there was no outage, and what was read while connecting is live; only what a previous run left
    // is historical.
    void uplink_up(std::uint64_t open_batch, std::uint64_t last_stored, std::uint64_t connect_failures, Time now);
    std::uint64_t backlog_end() const { return backlog_end_; }

    // --- live: offer the batches stored after live_cursor() (at most live_read_limit()) in order
    enum class Offer { stop, skip, publish };
    std::uint64_t live_cursor() const { return live_cursor_; }
    std::size_t live_read_limit() const { return room() + in_flight_.size(); }
    Offer offer_live(std::uint64_t sequence);

    // --- backlog: while replay_wanted(), offer the batches stored after replay_cursor() (at most
    // replay_read_limit()) to next_replay()
    struct ReplayStep {
        enum class Kind {
            publish,   // candidates[index] goes now, historical
            finished,  // nothing (more) to replay now
            wait,      // the pace allows the next one after `wait`
        };
        Kind kind = Kind::finished;
        std::size_t index = 0;
        std::chrono::milliseconds wait{0};
    };
    bool replay_wanted() const { return room() > 0 && replay_cursor_ < backlog_end_; }
    std::uint64_t replay_cursor() const { return replay_cursor_; }
    std::size_t replay_read_limit() const { return 1 + in_flight_.size(); }
    // durable_through: the newest batch the store holds durably (write-through: the backlog not yet
    // durable is offered again once it is).
    ReplayStep next_replay(std::span<const Candidate> candidates, std::uint64_t durable_through, Time now);

private:
    std::size_t max_inflight_;
    ReplayPacer pacer_;
    std::uint64_t stored_before_start_;
    bool ever_connected_ = false;
    std::uint64_t backlog_end_ = 0;    // batches up to here were stored before the uplink came up
    std::uint64_t live_cursor_ = 0;    // highest live batch handed to the uplink
    std::uint64_t replay_cursor_ = 0;  // highest backlog batch handed to the uplink
    std::set<std::uint64_t> in_flight_;
};

}  // namespace loopgate
