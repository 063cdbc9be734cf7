// Which stored batch the bridge publishes next: live before backlog, the in-flight window, the
// backlog's end when the uplink comes up, replay pacing and failures. The rig plays the store (what
// read_after returns) and the bridge's pump on a fake clock; "7" is a live batch, "h7" a replayed one.
#include <catch2/catch.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

#include "gateway/bridge/publish_scheduler.hpp"

using namespace loopgate;
using namespace std::chrono_literals;

namespace {

using Time = PublishScheduler::Time;
using Strings = std::vector<std::string>;
const Time t0 = Time{} + 1h;

struct Rig {
    PublishScheduler schedule;
    std::map<std::uint64_t, std::size_t> stored;  // sequence -> readings, until acknowledged
    std::uint64_t durable_through = ~std::uint64_t{0};
    Time now = t0;
    std::optional<std::chrono::milliseconds> paced;  // the replay timer the last pump armed

    Rig(std::size_t max_inflight, std::uint64_t stored_before_start, double replay_rate = 0)
        : schedule(max_inflight, replay_rate, stored_before_start) {
        for (std::uint64_t s = 1; s <= stored_before_start; ++s) stored[s] = 10;
    }
    void store(std::uint64_t from, std::uint64_t to, std::size_t readings = 10) {
        for (std::uint64_t s = from; s <= to; ++s) stored[s] = readings;
    }
    std::vector<PublishScheduler::Candidate> read_after(std::uint64_t cursor, std::size_t limit) const {
        std::vector<PublishScheduler::Candidate> out;
        for (auto it = stored.upper_bound(cursor); it != stored.end() && out.size() < limit; ++it)
            out.push_back({it->first, it->second});
        return out;
    }
    void up(std::uint64_t open_batch, std::uint64_t connect_failures) {
        std::uint64_t last = stored.empty() ? 0 : stored.rbegin()->first;
        schedule.uplink_up(open_batch, std::max(last, open_batch), connect_failures, now);
    }
    // What the bridge's pump publishes now, in order.
    Strings pump() {
        Strings out;
        paced.reset();
        if (schedule.room() > 0) {
            for (const auto& c : read_after(schedule.live_cursor(), schedule.live_read_limit())) {
                auto offer = schedule.offer_live(c.sequence);
                if (offer == PublishScheduler::Offer::stop) break;
                if (offer == PublishScheduler::Offer::skip) continue;
                schedule.published(c.sequence);
                out.push_back(std::to_string(c.sequence));
            }
        }
        while (schedule.replay_wanted()) {
            auto candidates = read_after(schedule.replay_cursor(), schedule.replay_read_limit());
            auto step = schedule.next_replay(candidates, durable_through, now);
            if (step.kind == PublishScheduler::ReplayStep::Kind::finished) break;
            if (step.kind == PublishScheduler::ReplayStep::Kind::wait) {
                paced = step.wait;
                break;
            }
            schedule.published(candidates[step.index].sequence);
            out.push_back("h" + std::to_string(candidates[step.index].sequence));
        }
        return out;
    }
    void ack(std::uint64_t sequence, bool delivered = true) {
        schedule.acknowledged(sequence, delivered);
        if (delivered) stored.erase(sequence);
    }
};

}  // namespace

TEST_CASE("publish schedule: what is backlog when the uplink comes up", "[bridge][schedule]") {
    // A previous run left batches 1-2; this run stored 3-4 while connecting; batch 5 is open.
    struct Row {
        const char* what;
        std::uint64_t connect_failures;
        bool again;  // connected before in this run
        std::uint64_t open_batch;
        std::uint64_t backlog_end;
        Strings published;
    };
    const Row rows[] = {
        {"first connection at the first attempt: only the previous run's batches are historical", 0, false, 5, 2,
         {"3", "4", "h1", "h2"}},
        {"...and with no batch open", 0, false, 0, 2, {"3", "4", "h1", "h2"}},
        {"first connection after a failed attempt: everything stored is backlog", 1, false, 5, 4,
         {"h1", "h2", "h3", "h4"}},
        {"a reconnection: everything stored or open is backlog", 0, true, 5, 4, {"h1", "h2", "h3", "h4"}},
        {"a reconnection, no batch open: up to the newest stored", 0, true, 0, 4, {"h1", "h2", "h3", "h4"}},
    };
    for (const Row& row : rows) {
        INFO(row.what);
        Rig rig(16, 2);
        rig.store(3, 4);
        if (row.again) {
            rig.up(0, row.connect_failures);
            rig.schedule.acknowledged(0, false);  // the connection was lost: nothing went out
        }
        rig.up(row.open_batch, row.connect_failures);
        CHECK(rig.schedule.backlog_end() == row.backlog_end);
        CHECK(rig.pump() == row.published);
        CHECK(rig.schedule.in_flight().size() == row.published.size());
    }
}

TEST_CASE("publish schedule: live before backlog within the in-flight window, neither starved", "[bridge][schedule]") {
    Rig rig(3, 5);  // batches 1-5 from an outage
    rig.up(0, 1);
    rig.store(6, 7);  // live batches closed since
    CHECK(rig.pump() == Strings{"6", "7", "h1"});
    CHECK(rig.schedule.room() == 0);
    CHECK(rig.pump().empty());  // the window is full
    rig.ack(6);
    CHECK(rig.pump() == Strings{"h2"});  // no live batch waits: the backlog has the room
    rig.store(8, 9);
    rig.ack(7);
    rig.ack(1);
    CHECK(rig.pump() == Strings{"8", "9"});  // live first
    rig.ack(8);
    CHECK(rig.pump() == Strings{"h3"});
    rig.ack(2);
    rig.ack(9);
    rig.ack(3);
    CHECK(rig.pump() == Strings{"h4", "h5"});
    rig.ack(4);
    rig.ack(5);
    CHECK(rig.pump().empty());
    CHECK(rig.schedule.replay_cursor() == 5);
    CHECK_FALSE(rig.schedule.replay_wanted());
    rig.store(10, 10);
    CHECK(rig.pump() == Strings{"10"});
}

TEST_CASE("publish schedule: a live batch goes once, as it is stored", "[bridge][schedule]") {
    Rig rig(4, 0);
    rig.up(0, 0);
    CHECK(rig.schedule.backlog_end() == 0);
    rig.store(1, 2);
    CHECK(rig.pump() == Strings{"1", "2"});
    rig.store(3, 3);
    CHECK(rig.pump() == Strings{"3"});
    CHECK(rig.pump().empty());
    CHECK(rig.schedule.is_in_flight(2));
    rig.ack(2);
    CHECK_FALSE(rig.schedule.is_in_flight(2));
    CHECK(rig.pump().empty());
}

TEST_CASE("publish schedule: a failed publish sends everything unacknowledged again, oldest first", "[bridge][schedule]") {
    Rig rig(8, 3);  // batches 1-3 from an outage
    rig.up(0, 1);
    rig.store(4, 5);
    CHECK(rig.pump() == Strings{"4", "5", "h1", "h2", "h3"});
    rig.ack(4);
    rig.ack(1);
    // The connection drops: the rest fail, one by one.
    for (std::uint64_t s : {2, 3, 5}) rig.ack(s, false);
    CHECK(rig.schedule.in_flight().empty());
    CHECK(rig.schedule.live_cursor() == rig.schedule.backlog_end());
    CHECK(rig.schedule.replay_cursor() == 0);
    // Back up: the backlog is everything stored now; live resumes after it.
    rig.store(6, 6);
    rig.up(0, 1);
    CHECK(rig.schedule.backlog_end() == 6);
    CHECK(rig.pump() == Strings{"h2", "h3", "h5", "h6"});
}

TEST_CASE("publish schedule: a failure while still up publishes the rest again, live after the backlog's end", "[bridge][schedule]") {
    Rig rig(8, 2);
    rig.up(0, 1);
    rig.store(3, 4);
    CHECK(rig.pump() == Strings{"3", "4", "h1", "h2"});
    rig.ack(1);
    rig.ack(3, false);
    // 3 goes again; 4 and 2 are still in flight, so the backlog has nothing to send.
    CHECK(rig.pump() == Strings{"3"});
    CHECK(rig.schedule.live_cursor() == 4);
    CHECK(rig.schedule.replay_cursor() == 2);
}

TEST_CASE("publish schedule: backlog not yet durable is replayed once it is", "[bridge][schedule]") {
    // Write-through: batches stored before the uplink came up but not yet synced are not offered by
    // the store; the replay must not skip past them.
    Rig rig(8, 0);
    rig.store(1, 3);
    rig.durable_through = 1;
    rig.stored.erase(2);  // read_after shows only durable batches of the backlog
    rig.stored.erase(3);
    rig.schedule.uplink_up(0, 3, 1, rig.now);
    CHECK(rig.pump() == Strings{"h1"});
    CHECK(rig.schedule.replay_cursor() == 1);
    rig.ack(1);
    CHECK(rig.pump().empty());
    CHECK(rig.schedule.replay_cursor() == 1);  // still waiting for 2-3
    rig.store(2, 3);
    rig.durable_through = 3;
    CHECK(rig.pump() == Strings{"h2", "h3"});
    rig.ack(2);
    rig.ack(3);
    CHECK(rig.pump().empty());
    CHECK(rig.schedule.replay_cursor() == 3);
}

TEST_CASE("publish schedule: store.replay_rate paces the backlog, not the live stream", "[bridge][schedule]") {
    Rig rig(16, 4, 20);  // 20 readings a second; batches of 10 readings
    rig.up(0, 1);
    CHECK(rig.pump().empty());
    CHECK(rig.paced == 501ms);  // the bucket starts empty
    rig.store(5, 6);
    CHECK(rig.pump() == Strings{"5", "6"});  // live is not paced
    rig.now += 500ms;
    CHECK(rig.pump() == Strings{"h1"});
    CHECK(rig.paced == 501ms);
    rig.now += 1500ms;  // a second's worth at most
    CHECK(rig.pump() == Strings{"h2", "h3"});
    CHECK(rig.paced == 501ms);
}

TEST_CASE("publish schedule: which acknowledgements may wait in the AckInbox", "[bridge][schedule]") {
    struct Row {
        const char* what;
        bool buffered;
        bool historical;
        bool draining;
        std::size_t in_flight;  // after this publish
        bool may_wait;
    };
    // max_inflight 4
    const Row rows[] = {
        {"a buffered live batch, window at most half full", true, false, false, 2, true},
        {"...window more than half full: the next read needs the room", true, false, false, 3, false},
        {"a replayed batch: the replay runs on acknowledgements", true, true, false, 1, false},
        {"during the shutdown drain", true, false, true, 1, false},
        {"write-through: deletions and the window need them", false, false, false, 1, false},
    };
    for (const Row& row : rows) {
        INFO(row.what);
        PublishScheduler s(4, 0, 0);
        for (std::uint64_t i = 1; i <= row.in_flight; ++i) s.published(i);
        CHECK(s.ack_may_wait(row.buffered, row.historical, row.draining) == row.may_wait);
    }
}
