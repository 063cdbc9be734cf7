#pragma once
// The bridge core: numbers readings per device, batches them, commits each batch to the store and
// publishes stored batches, oldest first, through the uplink.

#include <chrono>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "gateway/batcher.hpp"
#include "gateway/config.hpp"
#include "gateway/reading.hpp"
#include "gateway/store.hpp"
#include "gateway/uplink.hpp"

namespace loopgate {

struct BridgeStats {
    std::uint64_t readings = 0;
    std::uint64_t batches_stored = 0;
    std::uint64_t batches_published = 0;
    std::uint64_t publish_failures = 0;
    std::uint64_t store_errors = 0;
    std::uint64_t readings_dropped = 0;
};

class Bridge {
public:
    Bridge(boost::asio::io_context& io, const Config& config, Store& store, Uplink& uplink);

    void submit(std::vector<Reading>& readings);
    // Closes the open batch into the store now.
    void close_batch();
    // Publishes stored batches while the uplink is up and the in-flight window has room.
    void pump();
    void on_uplink_down();
    // Closes the open batch, then waits (bounded) for in-flight batches to be acknowledged.
    void shutdown(std::function<void()> done);

    const BridgeStats& stats() const { return stats_; }
    std::size_t in_flight() const { return in_flight_.size(); }

private:
    void arm_batch_timer();
    void commit(std::vector<Reading> readings);
    void retry_unstored();
    void on_ack(std::uint64_t sequence, bool delivered);
    void schedule_removal_flush();
    void restart_from_oldest();

    boost::asio::io_context& io_;
    const Config& config_;
    Store& store_;
    Uplink& uplink_;
    Batcher batcher_;
    boost::asio::steady_timer batch_timer_;
    boost::asio::steady_timer removal_timer_;
    boost::asio::steady_timer retry_timer_;
    bool removal_timer_armed_ = false;
    bool retry_timer_armed_ = false;
    std::map<std::string, std::uint64_t> device_sequences_;
    std::uint64_t cursor_ = 0;  // highest batch sequence handed to the uplink since the last restart
    std::set<std::uint64_t> in_flight_;
    // Batches that could not be committed (disk full, I/O error) wait here, bounded, and are retried.
    std::deque<std::vector<Reading>> unstored_;
    std::size_t unstored_readings_ = 0;
    std::function<void()> on_drained_;
    BridgeStats stats_;
    bool logged_store_error_ = false;
};

}  // namespace loopgate
