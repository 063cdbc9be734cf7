#include "gateway/bridge/bridge.hpp"

#include <algorithm>

#include <boost/asio/post.hpp>

#include "core/clock.hpp"
#include "core/log.hpp"
#include "gateway/bridge/batch_closing.hpp"
#include "gateway/store/batch_payload.hpp"

namespace loopgate {

namespace {
constexpr auto limits_interval = std::chrono::seconds(1);
constexpr auto shutdown_ack_wait = std::chrono::seconds(2);
constexpr std::size_t commit_chunks_per_turn = 4;
}  // namespace

Bridge::Bridge(boost::asio::io_context& io, const Config& config, Store& store, UplinkPort& uplink,
               BatchPublisher& publisher)
    : config_(config),
      buffered_(config.store.durability == "buffered"),
      store_(store),
      uplink_(uplink),
      publisher_(publisher),
      batcher_(config.uplink.batch),
      clock_(config.clock_sync),
      commit_policy_(buffered_, std::chrono::milliseconds(config.store.commit_interval_ms),
                     std::chrono::milliseconds(config.store.write_delay_ms)),
      schedule_(config.uplink.max_inflight, config.store.replay_rate, store.last_sequence()),
      when_full_(config.store.when_full),
      batch_timer_(io),
      commit_timer_(io),
      replay_timer_(io),
      limits_timer_(io),
      removal_timer_(io),
      shutdown_timer_(io),
      device_sequences_(store.device_sequences()) {
    store_.protect_in_flight([this](std::uint64_t sequence) { return schedule_.is_in_flight(sequence); });
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
    if (auto due = unsynced_.take_due(synced)) correct_unsynced(*due);
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
        if (!synced) unsynced_.stored(open_batch_);
        if (full) seal_batch();  // committed with the rest of this read, below
    }
    readings.clear();
    if (open_batch_ != 0 && BatchClosing::early(buffered_, has_room())) {
        seal_batch();
        pump();
    }
    if (open_batch_ != 0) arm_batch_timer();
    schedule_commit();
}

bool Bridge::has_room() const {
    return uplink_.connected() && publisher_.ready() && schedule_.room() > 0;
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
    if (!BatchClosing::at_deadline(uplink_.connected())) return;
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
    auto now = std::chrono::steady_clock::now();
    std::optional<std::chrono::steady_clock::time_point> armed_until;
    if (commit_armed_) armed_until = commit_timer_.expiry();
    auto decision = commit_policy_.after_write(buffered_ ? store_.next_due() : std::nullopt, armed_until, now);
    switch (decision.kind) {
    case CommitPolicy::Decision::Kind::none:
        return;
    case CommitPolicy::Decision::Kind::now:
        commit_now();
        return;
    case CommitPolicy::Decision::Kind::arm_at:
        break;
    }
    commit_armed_ = true;
    commit_timer_.expires_at(decision.at);
    if (buffered_) {
        commit_timer_.async_wait([this](const boost::system::error_code& ec) {
            commit_armed_ = false;
            if (ec) return;
            uplink_.settle_acks();
            // Once the oldest write waited write_delay, everything queued goes with it.
            if (commit_policy_.due_at_timer(store_.next_due(), std::chrono::steady_clock::now()))
                commit_now(std::chrono::steady_clock::time_point::max());
            else schedule_commit();
        });
        return;
    }
    commit_timer_.async_wait([this](const boost::system::error_code& ec) {
        commit_armed_ = false;
        if (!ec) commit_now();
    });
}

void Bridge::commit_now() { commit_now(commit_policy_.cutoff(std::chrono::steady_clock::now())); }

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
    commit_timer_.expires_after(CommitPolicy::retry_interval);
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
    if (open_batch_ != 0 && BatchClosing::at_uplink_up(batcher_.deadline(), std::chrono::steady_clock::now())) {
        seal_batch();
        sealed = true;
    }
    schedule_.uplink_up(open_batch_, store_.last_sequence(), uplink_.connect_failures(), std::chrono::steady_clock::now());
    if (sealed) schedule_commit();
    pump();
}

void Bridge::correct_unsynced(UnsyncedBatches::Range batches) {
    // The step is known only now, and the readings it applies to are stored already. Protobuf's
    // merge cannot amend a reading by appending bytes (repeated fields append), so the store's copy
    // is corrected, once: publishing then always sends the stored bytes (the native publisher adds
    // at most the historical flag), and the correction survives a restart, which one applied at
    // each publish did not. Only this run's batches (UnsyncedBatches). This is a decode and re-encode
    // of each affected part, paid once, off the publish path, for the minutes before the first sync.
    std::int64_t step = clock_.correction_ns();
    bool ok = store_.rewrite_parts(batches.first, batches.last, [step](std::string_view part) {
        return correct_receive_times(part, unsynced_reason, step, corrected_reason);
    });
    if (!ok)
        log::error(store_.last_error(), "; readings taken before the clock was synchronized that are not corrected yet ",
                   "go out uncorrected, flagged \"", unsynced_reason, "\"");
}

void Bridge::publish(const StoredBatch& b, bool historical) {
    schedule_.published(b.sequence);
    if (historical) ++stats_.batches_replayed;
    // A lazy acknowledgement waits for the next read, or the commit timer, which settles before it
    // writes anything.
    bool lazy = schedule_.ack_may_wait(buffered_, historical, static_cast<bool>(on_drained_));
    // Two pointers' worth of capture: std::function keeps it without allocating, once per publish.
    struct Job {
        const StoredBatch* batch;
        bool historical;
    } job{&b, historical};
    uplink_.with_lazy_acks(lazy, [this, &job] {
        publisher_.publish(*job.batch, job.historical, [this, seq = job.batch->sequence](bool ok) { on_ack(seq, ok); });
    });
}

void Bridge::pump() {
    if (!uplink_.connected() || !publisher_.ready()) return;
    try {
        // Live first (PublishScheduler says why).
        if (schedule_.room() > 0) {
            for (const StoredBatch& b : store_.read_after(schedule_.live_cursor(), schedule_.live_read_limit())) {
                auto offer = schedule_.offer_live(b.sequence);
                if (offer == PublishScheduler::Offer::stop) break;
                if (offer == PublishScheduler::Offer::publish) publish(b, false);
            }
        }
        std::vector<PublishScheduler::Candidate> candidates;
        while (schedule_.replay_wanted()) {
            auto now = std::chrono::steady_clock::now();
            auto next = store_.read_after(schedule_.replay_cursor(), schedule_.replay_read_limit());
            candidates.clear();
            for (const StoredBatch& b : next) candidates.push_back({b.sequence, static_cast<std::size_t>(b.readings)});
            // The backlog not durable yet is offered again when the store's on_durable pumps.
            auto step = schedule_.next_replay(candidates, store_.durable_through(), now);
            if (step.kind == PublishScheduler::ReplayStep::Kind::finished) break;
            if (step.kind == PublishScheduler::ReplayStep::Kind::wait) {
                if (!replay_armed_) {
                    replay_armed_ = true;
                    replay_timer_.expires_after(step.wait);
                    replay_timer_.async_wait([this](const boost::system::error_code& ec) {
                        replay_armed_ = false;
                        if (!ec) pump();
                    });
                }
                break;
            }
            publish(next[step.index], true);
        }
    } catch (const std::exception& e) {
        log::error(e.what());
    }
}

void Bridge::on_ack(std::uint64_t sequence, bool delivered) {
    schedule_.acknowledged(sequence, delivered);
    if (delivered) {
        ++stats_.batches_published;
        store_.remove(sequence);
        // has_removals is asked only when it decides (buffered, no removal commit armed).
        bool has_removals = buffered_ && !removal_armed_ && store_.has_removals();
        switch (commit_policy_.after_delivery(removal_armed_, has_removals)) {
        case CommitPolicy::AfterDelivery::commit_with_group:
            schedule_commit();
            break;
        case CommitPolicy::AfterDelivery::arm_removal:
            removal_armed_ = true;
            removal_timer_.expires_after(CommitPolicy::removal_delay);
            removal_timer_.async_wait([this](const boost::system::error_code& ec) {
                removal_armed_ = false;
                if (!ec && store_.has_uncommitted()) commit_now();
            });
            break;
        case CommitPolicy::AfterDelivery::nothing:
            break;
        }
    } else {
        ++stats_.publish_failures;
    }
    // Room again: what gathered while this one was out goes now (or, if a commit wrote part of it
    // already, right after the commit of its close).
    if (open_batch_ != 0 && BatchClosing::early(buffered_, has_room())) {
        seal_batch();
        schedule_commit();
    }
    if (schedule_.in_flight().empty() && on_drained_) {
        auto done = std::move(on_drained_);
        on_drained_ = nullptr;
        done();
        return;
    }
    pump();
}

void Bridge::check_limits() {
    store_.enforce_limits(wall_now_ns(), when_full_.drops_oldest());
    if (!when_full_.drops_oldest()) {
        if (auto pause = when_full_.pause_change(store_.over_limit())) {
            if (*pause) log::warning("store: full (", store_.stats().bytes, " bytes); stop reading until the backlog drains");
            else log::info("store: below its limit again; reading resumes");
            if (on_pause_) on_pause_(*pause);
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
    if (schedule_.in_flight().empty() || !uplink_.connected()) {
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
