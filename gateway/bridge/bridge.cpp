#include "gateway/bridge/bridge.hpp"

#include <algorithm>

#include <boost/asio/post.hpp>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "gateway/store/batch_payload.hpp"

namespace loopgate {

namespace {
constexpr auto commit_retry_interval = std::chrono::seconds(1);
constexpr auto limits_interval = std::chrono::seconds(1);
constexpr auto shutdown_ack_wait = std::chrono::seconds(2);
constexpr auto removal_delay = std::chrono::milliseconds(200);
constexpr std::size_t commit_chunks_per_turn = 4;
}  // namespace

Bridge::Bridge(boost::asio::io_context& io, const Config& config, Store& store, Uplink& uplink,
               BatchPublisher& publisher)
    : config_(config),
      buffered_(config.store.durability == "buffered"),
      store_(store),
      uplink_(uplink),
      publisher_(publisher),
      batcher_(config.uplink.batch),
      clock_(config.clock_sync),
      batch_timer_(io),
      commit_timer_(io),
      replay_timer_(io),
      limits_timer_(io),
      removal_timer_(io),
      shutdown_timer_(io),
      device_sequences_(store.device_sequences()),
      stored_before_start_(store.last_sequence()) {
    store_.protect_in_flight([this](std::uint64_t sequence) { return in_flight_.count(sequence) > 0; });
    if (buffered_) store_.buffer_unacknowledged(std::chrono::milliseconds(config_.store.write_delay_ms));
    check_limits();
}

// The store outlives the bridge (and commits once more when it goes): it must not ask a bridge that
// is gone what is in flight.
Bridge::~Bridge() { store_.protect_in_flight(nullptr); }

namespace {
const char* const unsynced_reason = "clock not synchronized";
const std::string corrected_reason = "clock was not synchronized; receive time corrected by the step at synchronization";
}  // namespace

void Bridge::submit(std::vector<Reading>& readings) {
    uplink_.settle_acks();  // the room and the memory the acknowledgements since the last read free
    auto now = std::chrono::steady_clock::now();
    bool synced = clock_.synchronized();
    if (synced && unsynced_last_ != 0) correct_unsynced();
    if (!synced) {
        for (Reading& r : readings) {
            if (r.quality != Quality::good) continue;
            r.quality = Quality::uncertain;
            r.quality_reason = unsynced_reason;
        }
    }
    std::span<Reading> rest(readings);
    while (!rest.empty()) {
        if (open_batch_ == 0) {
            open_batch_ = store_.next_sequence();
            std::int64_t created = wall_now_ns();
            store_.open_batch(open_batch_, created, encode_batch_header(config_.gateway_id, open_batch_, created));
        }
        std::span<Reading> chunk = rest.first(std::min(rest.size(), batcher_.room()));
        rest = rest.subspan(chunk.size());
        std::map<std::string, std::uint64_t> high;
        for (Reading& r : chunk)
            high[r.device] = r.sequence = ++device_sequences_.try_emplace(r.device, store_.unknown_device_floor()).first->second;
        std::string part = encode_readings(chunk);
        stats_.readings += chunk.size();
        bool full = batcher_.add(chunk.size(), part.size(), now);
        store_.append(open_batch_, part, chunk.size(), high);
        if (!synced) {
            if (unsynced_first_ == 0) unsynced_first_ = open_batch_;
            unsynced_last_ = open_batch_;
        }
        if (full) seal_batch();  // committed with the rest of this read, below
    }
    readings.clear();
    // Buffered, a batch goes out at once while the uplink has room for it; it gathers readings only
    // while earlier ones are unacknowledged (or for max_delay): low latency at low rates, large
    // batches at high ones.
    if (open_batch_ != 0 && buffered_ && has_room()) {
        seal_batch();
        pump();
    }
    if (open_batch_ != 0) arm_batch_timer();
    schedule_commit();
}

bool Bridge::has_room() const {
    return uplink_.connected() && publisher_.ready() && in_flight_.size() < config_.uplink.max_inflight;
}

void Bridge::arm_batch_timer() {
    auto deadline = batcher_.deadline();
    if (!deadline || batch_timer_.expiry() == *deadline) return;
    batch_timer_.expires_at(*deadline);
    batch_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) on_batch_deadline();
    });
}

void Bridge::on_batch_deadline() {
    // max_delay bounds how long a reading waits to go out; while the uplink is down nothing goes
    // out, so the batch keeps gathering (up to max_readings or max_bytes) and closes when the uplink
    // is back. An outage then writes one row per commit instead of one per 100 ms batch, and a
    // larger row deflates better: 2.9 -> 2.2 bytes written per payload byte at 100 readings/s.
    if (!uplink_.connected()) return;
    seal_and_commit_batch();
}

void Bridge::seal_and_commit_batch() {
    seal_batch();
    // Write-through, a closed batch goes out once committed and durable: at once by default, with the
    // next group commit when store.commit_interval asks for fewer writes (latency: up to max_delay +
    // interval). Buffered, it goes out now.
    if (buffered_) pump();
    schedule_commit();
}

void Bridge::seal_batch() {
    batch_timer_.cancel();
    batch_timer_.expires_at(std::chrono::steady_clock::time_point{});
    if (open_batch_ == 0) return;
    store_.close_batch(open_batch_);
    open_batch_ = 0;
    batcher_.reset();
    ++stats_.batches_closed;
}

void Bridge::schedule_commit() {
    if (buffered_) {
        // Writes wait write_delay for their acknowledgement; the timer follows the oldest one.
        auto due = store_.next_due();
        if (!due || (commit_armed_ && commit_timer_.expiry() <= *due)) return;
        commit_armed_ = true;
        commit_timer_.expires_at(*due);
        commit_timer_.async_wait([this](const boost::system::error_code& ec) {
            commit_armed_ = false;
            if (ec) return;
            uplink_.settle_acks();
            // The write this timer was set for may have been acknowledged meanwhile: then it waits
            // for the next one. Once the oldest write waited write_delay, everything queued goes
            // with it, so an outage costs one commit per write_delay, not one per read.
            auto due = store_.next_due();
            if (due && *due <= std::chrono::steady_clock::now()) commit_now(std::chrono::steady_clock::time_point::max());
            else schedule_commit();
        });
        return;
    }
    if (config_.store.commit_interval_ms == 0) {
        commit_now();
        return;
    }
    if (commit_armed_) return;
    commit_armed_ = true;
    commit_timer_.expires_after(std::chrono::milliseconds(config_.store.commit_interval_ms));
    commit_timer_.async_wait([this](const boost::system::error_code& ec) {
        commit_armed_ = false;
        if (!ec) commit_now();
    });
}

void Bridge::commit_now() {
    commit_now(buffered_ ? std::chrono::steady_clock::now() - std::chrono::milliseconds(config_.store.write_delay_ms) +
                                std::chrono::nanoseconds(1)
                          : std::chrono::steady_clock::time_point::max());
}

void Bridge::commit_now(std::chrono::steady_clock::time_point due_before) {
    if (store_.commit(commit_chunks_per_turn, due_before)) {
        pump();
        if (store_.has_due(due_before)) {
            // A backlog held in memory (after a full disk): the rest after the uplink had its turn.
            boost::asio::post(commit_timer_.get_executor(), [this, due_before] { commit_now(due_before); });
            return;
        }
        if (logged_commit_failure_) log::info("store: writable again; the readings held in memory are committed");
        logged_commit_failure_ = false;
        if (buffered_) schedule_commit();
        return;
    }
    if (!logged_commit_failure_)
        log::error(store_.last_error(), "; holding readings in memory and retrying (they are published from there meanwhile)");
    logged_commit_failure_ = true;
    pump();  // what the chunks written before the failure hold, and what memory holds, go out meanwhile
    if (commit_armed_) return;
    commit_armed_ = true;
    commit_timer_.expires_after(commit_retry_interval);
    commit_timer_.async_wait([this](const boost::system::error_code& ec) {
        commit_armed_ = false;
        if (!ec) commit_now();
    });
}

void Bridge::on_uplink_up() {
    // A batch held open through the outage past its max_delay is due now, with the backlog. Its
    // commit waits until the cursors below are set: write-through, the commit pumps, and a pump with
    // the cursors of before (0 after a start) sent the stored backlog as live batches, unflagged,
    // ahead of the live stream's newer readings (and again, flagged, if killed before the deletion).
    bool sealed = false;
    if (open_batch_ != 0) {
        auto deadline = batcher_.deadline();
        if (deadline && *deadline <= std::chrono::steady_clock::now()) {
            seal_batch();
            sealed = true;
        }
    }
    // Everything closed or open until now is backlog; what closes from here on is live. Except on
    // the first connection, made at the first attempt: there was no outage, and what was read while
    // connecting is live; only what a previous run left is historical.
    backlog_end_ = open_batch_ != 0 ? open_batch_ - 1 : store_.last_sequence();
    if (!ever_connected_ && uplink_.connect_failures() == 0) backlog_end_ = std::min(backlog_end_, stored_before_start_);
    ever_connected_ = true;
    live_cursor_ = backlog_end_;
    replay_cursor_ = 0;
    replay_tokens_ = 0;
    replay_refill_ = std::chrono::steady_clock::now();
    if (sealed) schedule_commit();
    pump();
}

void Bridge::correct_unsynced() {
    // The step is known only now, and the readings it applies to are stored already. Protobuf's
    // merge cannot amend a reading by appending bytes (repeated fields append), so the store's copy
    // is corrected, once: publishing then always sends the stored bytes (the native publisher adds
    // at most the historical flag), and the correction survives a restart, which one applied at
    // each publish did not. Only this run's batches: the step measured here says nothing about a
    // clock an earlier run (perhaps an earlier boot) saw. This is a decode and re-encode of each
    // affected part, paid once, off the publish path, for the minutes before the first sync.
    std::int64_t step = clock_.correction_ns();
    bool ok = store_.rewrite_parts(unsynced_first_, unsynced_last_, [step](std::string_view part) {
        return correct_receive_times(part, unsynced_reason, step, corrected_reason);
    });
    if (!ok)
        log::error(store_.last_error(), "; readings taken before the clock was synchronized that are not corrected yet ",
                   "go out uncorrected, flagged \"", unsynced_reason, "\"");
    unsynced_first_ = unsynced_last_ = 0;
}

void Bridge::publish(const StoredBatch& b, bool historical) {
    in_flight_.insert(b.sequence);
    if (historical) ++stats_.batches_replayed;
    // A live batch's acknowledgement may wait for the next read (or the commit timer, which settles
    // before it writes anything) while the window is at most half full: the next read needs the
    // room, and nothing else does. A replay runs on acknowledgements, and so does a shutdown.
    bool lazy = buffered_ && !historical && !on_drained_ && in_flight_.size() * 2 <= config_.uplink.max_inflight;
    Uplink::LazyAcks acks(uplink_, lazy);
    publisher_.publish(b, historical, [this, seq = b.sequence](bool ok) { on_ack(seq, ok); });
}

void Bridge::pump() {
    if (!uplink_.connected() || !publisher_.ready()) return;
    auto room = [&] {
        return config_.uplink.max_inflight - std::min(config_.uplink.max_inflight, in_flight_.size());
    };
    try {
        // Live first: it is at most what the devices produce, so the backlog always gets the rest.
        if (room() > 0) {
            for (const StoredBatch& b : store_.read_after(live_cursor_, room() + in_flight_.size())) {
                if (room() == 0) break;
                live_cursor_ = b.sequence;
                if (!in_flight_.count(b.sequence)) publish(b, false);
            }
        }
        while (room() > 0 && replay_cursor_ < backlog_end_) {
            double rate = config_.store.replay_rate;
            if (rate > 0) {
                auto now = std::chrono::steady_clock::now();
                replay_tokens_ = std::min(rate, replay_tokens_ + rate * std::chrono::duration<double>(now - replay_refill_).count());
                replay_refill_ = now;
            }
            auto next = store_.read_after(replay_cursor_, 1 + in_flight_.size());
            auto it = std::find_if(next.begin(), next.end(), [&](const StoredBatch& b) { return !in_flight_.count(b.sequence); });
            if (it == next.end() || it->sequence > backlog_end_) {
                // Nothing left to replay, unless some of the backlog is not durable yet: then the
                // store's on_durable pumps again.
                if (it != next.end() || store_.durable_through() >= backlog_end_) replay_cursor_ = backlog_end_;
                break;
            }
            if (rate > 0 && replay_tokens_ < std::min<double>(static_cast<double>(it->readings), rate)) {
                if (!replay_armed_) {
                    replay_armed_ = true;
                    double wait = (std::min<double>(static_cast<double>(it->readings), rate) - replay_tokens_) / rate;
                    replay_timer_.expires_after(std::chrono::milliseconds(static_cast<long>(wait * 1000) + 1));
                    replay_timer_.async_wait([this](const boost::system::error_code& ec) {
                        replay_armed_ = false;
                        if (!ec) pump();
                    });
                }
                break;
            }
            replay_tokens_ -= static_cast<double>(it->readings);
            replay_cursor_ = it->sequence;
            publish(*it, true);
        }
    } catch (const std::exception& e) {
        log::error(e.what());
    }
}

void Bridge::on_ack(std::uint64_t sequence, bool delivered) {
    in_flight_.erase(sequence);
    if (delivered) {
        ++stats_.batches_published;
        // Deletions wait for the next commit (or at most removal_delay): one per acknowledgement
        // would cost a transaction each.
        store_.remove(sequence);
        if (config_.store.commit_interval_ms > 0 && !buffered_) {
            schedule_commit();
        } else if (!removal_armed_ && (!buffered_ || store_.has_removals())) {
            removal_armed_ = true;
            removal_timer_.expires_after(removal_delay);
            removal_timer_.async_wait([this](const boost::system::error_code& ec) {
                removal_armed_ = false;
                if (!ec && store_.has_uncommitted()) commit_now();
            });
        }
    } else {
        // Publish everything unacknowledged again, oldest first, once the uplink is back.
        ++stats_.publish_failures;
        replay_cursor_ = 0;
        live_cursor_ = backlog_end_;
    }
    // Room again: what gathered while this one was out goes now (or, if a commit wrote part of it
    // already, right after the commit of its close).
    if (open_batch_ != 0 && buffered_ && has_room()) {
        seal_batch();
        schedule_commit();
    }
    if (in_flight_.empty() && on_drained_) {
        auto done = std::move(on_drained_);
        on_drained_ = nullptr;
        done();
        return;
    }
    pump();
}

void Bridge::check_limits() {
    store_.enforce_limits(wall_now_ns(), config_.store.when_full == "drop_oldest");
    if (config_.store.when_full == "stop_reading") {
        bool full = store_.over_limit();
        if (full != paused_) {
            paused_ = full;
            if (full) log::warning("store: full (", store_.stats().bytes, " bytes); stop reading until the backlog drains");
            else log::info("store: below its limit again; reading resumes");
            if (on_pause_) on_pause_(full);
        }
    }
    limits_timer_.expires_after(limits_interval);
    limits_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (!ec) check_limits();
    });
}

void Bridge::shutdown(std::function<void()> done) {
    uplink_.settle_acks();
    uplink_.set_acks_urgent(true);  // the drain below waits on them
    limits_timer_.cancel();
    replay_timer_.cancel();
    seal_batch();
    if (!buffered_) {
        commit_now();
        store_.sync_now();  // the last batch may go out before the process does
    }
    // Buffered, what is acknowledged in the wait below is never written; the rest is, when the
    // store closes.
    pump();
    if (in_flight_.empty() || !uplink_.connected()) {
        done();
        return;
    }
    on_drained_ = done;
    shutdown_timer_.expires_after(shutdown_ack_wait);
    shutdown_timer_.async_wait([this](const boost::system::error_code& ec) {
        if (ec || !on_drained_) return;
        auto finish = std::move(on_drained_);
        on_drained_ = nullptr;
        finish();
    });
}

}  // namespace loopgate
