// When the bridge commits the store (store.durability, write_delay, commit_interval), on a fake clock.
#include <catch2/catch.hpp>

#include <optional>

#include "gateway/bridge/commit_policy.hpp"

using namespace loopgate;
using namespace std::chrono_literals;

namespace {
using Time = CommitPolicy::Time;
using Kind = CommitPolicy::Decision::Kind;
const Time t0 = Time{} + 1h;
const auto none = std::nullopt;

CommitPolicy buffered(std::chrono::milliseconds write_delay = 900ms) { return CommitPolicy(true, 0ms, write_delay); }
CommitPolicy write_through(std::chrono::milliseconds interval) { return CommitPolicy(false, interval, 900ms); }
}  // namespace

TEST_CASE("commit policy: after a write or a close", "[bridge][commit]") {
    struct Row {
        const char* what;
        CommitPolicy policy;
        std::optional<Time> next_due;     // buffered: when the oldest queued write waited write_delay
        std::optional<Time> armed_until;  // the commit timer, while armed
        Kind kind;
        Time at;
    };
    const Row rows[] = {
        {"buffered: nothing queued, nothing to do", buffered(), none, none, Kind::none, {}},
        {"buffered: the timer follows the oldest write", buffered(), t0 + 900ms, none, Kind::arm_at, t0 + 900ms},
        {"buffered: a timer armed for an older write stays", buffered(), t0 + 900ms, t0 + 400ms, Kind::none, {}},
        {"buffered: ...and for the same one", buffered(), t0 + 900ms, t0 + 900ms, Kind::none, {}},
        {"buffered: a timer armed later (the retry) is brought forward", buffered(), t0 + 900ms, t0 + 1s, Kind::arm_at,
         t0 + 900ms},
        {"write-through, commit_interval 0: every read commits at once", write_through(0ms), none, none, Kind::now, t0},
        {"...even while a retry is armed", write_through(0ms), none, t0 + 1s, Kind::now, t0},
        {"write-through, group commits: the next in commit_interval", write_through(250ms), none, none, Kind::arm_at,
         t0 + 250ms},
        {"write-through, group commits: one armed already takes it", write_through(250ms), none, t0 + 100ms, Kind::none, {}},
    };
    for (const Row& row : rows) {
        INFO(row.what);
        auto d = row.policy.after_write(row.next_due, row.armed_until, t0);
        CHECK(d.kind == row.kind);
        if (row.kind == Kind::arm_at) CHECK(d.at == row.at);
    }
}

TEST_CASE("commit policy: the buffered timer commits only once the oldest write waited write_delay", "[bridge][commit]") {
    CommitPolicy p = buffered();
    CHECK(p.due_at_timer(t0, t0));
    CHECK(p.due_at_timer(t0 - 1ms, t0));
    // The write it was set for was acknowledged meanwhile: the next one is younger.
    CHECK_FALSE(p.due_at_timer(t0 + 300ms, t0));
    CHECK_FALSE(p.due_at_timer(none, t0));
}

TEST_CASE("commit policy: a commit writes what waited write_delay, write-through everything", "[bridge][commit]") {
    // Buffered: the writes queued at least write_delay ago (the store writes those queued before the
    // cut-off), the young ones may still be acknowledged and never written.
    CHECK(buffered(900ms).cutoff(t0) == t0 - 900ms + 1ns);
    CHECK(buffered(0ms).cutoff(t0) == t0 + 1ns);
    CHECK(write_through(0ms).cutoff(t0) == Time::max());
    CHECK(write_through(250ms).cutoff(t0) == Time::max());
}

TEST_CASE("commit policy: the deletion of an acknowledged batch", "[bridge][commit]") {
    using After = CommitPolicy::AfterDelivery;
    struct Row {
        const char* what;
        CommitPolicy policy;
        bool removal_armed;
        bool store_has_removals;
        After after;
    };
    const Row rows[] = {
        {"write-through, group commits: with the next group commit", write_through(250ms), false, true,
         After::commit_with_group},
        {"write-through: a removal commit in removal_delay", write_through(0ms), false, false, After::arm_removal},
        {"write-through: one armed already takes it", write_through(0ms), true, true, After::nothing},
        {"buffered, acknowledged before it was written: nothing to delete", buffered(), false, false, After::nothing},
        {"buffered, acknowledged after it was written: a removal commit", buffered(), false, true, After::arm_removal},
        {"buffered: one armed already takes it", buffered(), true, true, After::nothing},
    };
    for (const Row& row : rows) {
        INFO(row.what);
        CHECK(row.policy.after_delivery(row.removal_armed, row.store_has_removals) == row.after);
    }
    CHECK(CommitPolicy::removal_delay == 200ms);
}
