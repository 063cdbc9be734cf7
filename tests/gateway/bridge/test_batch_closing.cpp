// When the bridge closes the open batch besides its being full: after max_delay, when the uplink
// comes up, and early when buffered.
#include <catch2/catch.hpp>

#include <optional>

#include "gateway/bridge/batch_closing.hpp"

using namespace loopgate;
using namespace std::chrono_literals;

namespace {
const BatchClosing::Time t0 = BatchClosing::Time{} + 1h;
}

TEST_CASE("batch closing: max_delay closes a batch only while the uplink is up", "[bridge][batching]") {
    CHECK(BatchClosing::at_deadline(true));
    CHECK_FALSE(BatchClosing::at_deadline(false));  // it gathers through the outage (commit ff971a3)
}

TEST_CASE("batch closing: the uplink coming up seals a batch held past its max_delay", "[bridge][batching]") {
    struct Row {
        const char* what;
        std::optional<BatchClosing::Time> deadline;
        bool seals;
    };
    const Row rows[] = {
        {"no open batch (no deadline)", std::nullopt, false},
        {"held through the outage past its max_delay", t0 - 5s, true},
        {"its max_delay ends right now", t0, true},
        {"opened during the outage, still within max_delay", t0 + 1ms, false},
    };
    for (const Row& row : rows) {
        INFO(row.what);
        CHECK(BatchClosing::at_uplink_up(row.deadline, t0) == row.seals);
    }
}

TEST_CASE("batch closing: buffered, a batch goes out at once while the uplink has room", "[bridge][batching]") {
    struct Row {
        bool buffered;
        bool room;
        bool closes;
    };
    const Row rows[] = {
        {true, true, true},
        {true, false, false},   // gathers while earlier batches are unacknowledged
        {false, true, false},   // write-through: max_delay or full, then committed before it goes
        {false, false, false},
    };
    for (const Row& row : rows) {
        INFO("buffered " << row.buffered << ", room " << row.room);
        CHECK(BatchClosing::early(row.buffered, row.room) == row.closes);
    }
}
