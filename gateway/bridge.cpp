#include "gateway/bridge.hpp"

#include "gateway/log.hpp"
#include "gateway/payload.hpp"

namespace loopgate {

namespace {
// Readings held in memory while the store cannot take them; beyond this the oldest are dropped.
constexpr std::size_t max_unstored_readings = 200'000;
constexpr auto removal_flush_interval = std::chrono::milliseconds(200);
constexpr auto store_retry_interval = std::chrono::seconds(1);
constexpr auto shutdown_ack_wait = std::chrono::seconds(2);
}  // namespace

Bridge::Bridge(boost::asio::io_context& io, const Config& config, Store& store, Uplink& uplink)
    : io_(io),
      config_(config),
      store_(store),
      uplink_(uplink),
      batcher_(config.uplink.batch),
      batch_timer_(io),
      removal_timer_(io),
      retry_timer_(io),
      device_sequences_(store.device_sequences()) {}

void Bridge::submit(std::vector<Reading>& readings) {
    auto now = std::chrono::steady_clock::now();
    for (Reading& r : readings) {
        r.sequence = ++device_sequences_[r.device];
        ++stats_.readings;
        if (batcher_.add(std::move(r), now)) close_batch();
    }
    readings.clear();
    arm_batch_timer();
}

void Bridge::arm_batch_timer() {
    auto deadline = batcher_.deadline();
    if (!deadline) return;
    if (batch_timer_.expiry() == *deadline) return;
    batch_timer_.expires_at(*deadline);
    batch_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) close_batch();
    });
}

void Bridge::close_batch() {
    batch_timer_.cancel();
    batch_timer_.expires_at(std::chrono::steady_clock::time_point{});
    if (batcher_.empty()) return;
    commit(batcher_.take());
    pump();
}

void Bridge::commit(std::vector<Reading> readings) {
    if (!unstored_.empty()) {
        // Keep order: older unstored batches go first.
        unstored_readings_ += readings.size();
        unstored_.push_back(std::move(readings));
        retry_unstored();
        return;
    }
    std::map<std::string, std::uint64_t> high;
    for (const Reading& r : readings) high[r.device] = std::max(high[r.device], r.sequence);
    std::uint64_t sequence = store_.next_sequence();
    std::int64_t created = wall_now_ns();
    try {
        store_.append(sequence, created, encode_batch(config_.gateway_id, sequence, created, readings), high);
        ++stats_.batches_stored;
        if (logged_store_error_) log::info("store: writable again");
        logged_store_error_ = false;
    } catch (const std::exception& e) {
        ++stats_.store_errors;
        if (!logged_store_error_) log::error(e.what(), "; holding readings in memory and retrying");
        logged_store_error_ = true;
        unstored_readings_ += readings.size();
        unstored_.push_back(std::move(readings));
        while (unstored_readings_ > max_unstored_readings && unstored_.size() > 1) {
            unstored_readings_ -= unstored_.front().size();
            stats_.readings_dropped += unstored_.front().size();
            unstored_.pop_front();
        }
        if (!retry_timer_armed_) {
            retry_timer_armed_ = true;
            retry_timer_.expires_after(store_retry_interval);
            retry_timer_.async_wait([this](const boost::system::error_code& ec) {
                retry_timer_armed_ = false;
                if (!ec) retry_unstored();
            });
        }
    }
}

void Bridge::retry_unstored() {
    while (!unstored_.empty()) {
        std::vector<Reading> batch = std::move(unstored_.front());
        unstored_.pop_front();
        unstored_readings_ -= batch.size();
        std::size_t before = stats_.store_errors;
        commit(std::move(batch));
        if (stats_.store_errors != before) return;  // still failing; commit re-queued it at the back
    }
    pump();
}

void Bridge::pump() {
    if (!uplink_.connected()) return;
    std::size_t room = config_.uplink.max_inflight - std::min(config_.uplink.max_inflight, in_flight_.size());
    if (room == 0) return;
    std::vector<StoredBatch> next;
    try {
        next = store_.read_after(cursor_, room);
    } catch (const std::exception& e) {
        ++stats_.store_errors;
        log::error(e.what());
        return;
    }
    for (StoredBatch& b : next) {
        cursor_ = b.sequence;
        in_flight_.insert(b.sequence);
        bool historical = b.created_ns < uplink_.connected_since_ns();
        uplink_.publish(config_.data_topic(), historical ? mark_historical(b.payload) : b.payload, false,
                        [this, seq = b.sequence](bool ok) { on_ack(seq, ok); });
    }
}

void Bridge::on_ack(std::uint64_t sequence, bool delivered) {
    if (delivered) {
        ++stats_.batches_published;
        in_flight_.erase(sequence);
        store_.remove(sequence);
        schedule_removal_flush();
        if (in_flight_.empty() && on_drained_) {
            auto done = std::move(on_drained_);
            on_drained_ = nullptr;
            done();
            return;
        }
        pump();
        return;
    }
    ++stats_.publish_failures;
    restart_from_oldest();
}

void Bridge::restart_from_oldest() {
    // Everything not yet acknowledged goes again, oldest first, once the uplink is back.
    try {
        store_.flush_removals();
    } catch (const std::exception& e) {
        log::error(e.what());
    }
    in_flight_.clear();
    cursor_ = 0;
    pump();
}

void Bridge::on_uplink_down() {
    // Paho keeps in-flight publishes of the persistent session and re-sends them on reconnect; the
    // uplink fails those it lost, which lands in restart_from_oldest().
}

void Bridge::schedule_removal_flush() {
    if (removal_timer_armed_) return;
    removal_timer_armed_ = true;
    removal_timer_.expires_after(removal_flush_interval);
    removal_timer_.async_wait([this](const boost::system::error_code&) {
        removal_timer_armed_ = false;
        try {
            store_.flush_removals();
        } catch (const std::exception& e) {
            log::error(e.what());
        }
    });
}

void Bridge::shutdown(std::function<void()> done) {
    close_batch();
    retry_unstored();
    if (!unstored_.empty())
        log::error("store: ", unstored_readings_, " readings could not be stored before shutdown and are lost");
    if (in_flight_.empty() || !uplink_.connected()) {
        done();
        return;
    }
    on_drained_ = done;
    retry_timer_.cancel();
    retry_timer_.expires_after(shutdown_ack_wait);
    retry_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || !on_drained_) return;
        auto finish = std::move(on_drained_);
        on_drained_ = nullptr;
        finish();
    });
}

}  // namespace loopgate
