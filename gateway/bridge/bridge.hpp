#pragma once
// The bridge core: numbers readings per device, hands them to the store as they arrive, closes
// batches by the batching rule, and publishes closed batches through the uplink.
//
// store.durability: buffered (the default) publishes a batch from memory as soon as it closes, and
// closes it as soon as the uplink has an in-flight slot free; the store writes only what is not
// acknowledged within write_delay. write-through commits and syncs every batch before publishing it.
//
// After an outage two streams share the in-flight window: live batches go out as they close, and
// the backlog (batches stored before the connection came up, flagged historical) drains oldest
// first, at store.replay_rate if set. Neither starves the other; within each stream a device's
// readings keep their order, and their per-device sequence numbers give the total order.
//
// The decisions are pure pieces tested on a fake clock: when a batch closes (Batcher, BatchClosing),
// which batch goes next and when (PublishScheduler, ReplayPacer), when to commit (CommitPolicy),
// which batches a clock correction is due for (UnsyncedBatches), when a full store pauses reading
// (WhenFull). This shell owns the timers and the wiring, and reaches the uplink through an UplinkPort.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/reading.hpp"
#include "gateway/bridge/batcher.hpp"
#include "gateway/bridge/clock_watch.hpp"
#include "gateway/bridge/commit_policy.hpp"
#include "gateway/bridge/publish_scheduler.hpp"
#include "gateway/bridge/unsynced_batches.hpp"
#include "gateway/bridge/uplink_port.hpp"
#include "gateway/bridge/when_full.hpp"
#include "gateway/config.hpp"
#include "gateway/store/store.hpp"
#include "gateway/uplink/batch_publisher.hpp"

namespace loopgate {

struct BridgeStats {
    std::uint64_t readings = 0;
    std::uint64_t batches_closed = 0;
    std::uint64_t batches_published = 0;
    std::uint64_t batches_replayed = 0;
    std::uint64_t publish_failures = 0;
};

class Bridge {
public:
    Bridge(boost::asio::io_context& io, const Config& config, Store& store, UplinkPort& uplink, BatchPublisher& publisher);
    ~Bridge();
    Bridge(const Bridge&) = delete;
    Bridge& operator=(const Bridge&) = delete;

    void submit(std::vector<Reading>& readings);
    void seal_and_commit_batch();
    void pump();
    void on_uplink_up();
    // Called with true when the store is full under when_full: stop_reading, false when it has room.
    void on_pause(std::function<void(bool)> f) { on_pause_ = std::move(f); }
    // Closes the open batch, then waits (bounded) for in-flight batches to be acknowledged.
    void shutdown(std::function<void()> done);

    const BridgeStats& stats() const { return stats_; }
    std::size_t in_flight() const { return schedule_.in_flight().size(); }
    std::uint64_t backlog_end() const { return schedule_.backlog_end(); }

private:
    bool has_room() const;
    void arm_batch_timer();
    void on_batch_deadline();
    void seal_batch();
    void commit_now();
    void commit_now(std::chrono::steady_clock::time_point due_before);
    void schedule_commit();
    void publish(const StoredBatch& b, bool historical);
    void correct_unsynced(UnsyncedBatches::Range batches);
    void on_ack(std::uint64_t sequence, bool delivered);
    void check_limits();

    const Config& config_;
    const bool buffered_;  // store.durability: buffered
    Store& store_;
    UplinkPort& uplink_;
    BatchPublisher& publisher_;
    Batcher batcher_;
    ClockWatch clock_;
    CommitPolicy commit_policy_;
    PublishScheduler schedule_;
    WhenFull when_full_;
    boost::asio::steady_timer batch_timer_;
    boost::asio::steady_timer commit_timer_;
    boost::asio::steady_timer replay_timer_;
    boost::asio::steady_timer limits_timer_;
    boost::asio::steady_timer removal_timer_;
    bool removal_armed_ = false;
    boost::asio::steady_timer shutdown_timer_;
    bool commit_armed_ = false;
    bool replay_armed_ = false;
    bool logged_commit_failure_ = false;

    std::map<std::string, std::uint64_t> device_sequences_;
    std::uint64_t open_batch_ = 0;    // 0: none open
    UnsyncedBatches unsynced_;

    std::function<void(bool)> on_pause_;
    std::function<void()> on_drained_;
    BridgeStats stats_;
};

}  // namespace loopgate
