// store.when_full: when a full store pauses reading and when reading resumes.
#include <catch2/catch.hpp>

#include <optional>

#include "gateway/bridge/when_full.hpp"

using namespace loopgate;

TEST_CASE("when full: stop_reading pauses once when the store goes over its limit and resumes once below it", "[bridge][limits]") {
    struct Row {
        bool over_limit;
        std::optional<bool> change;
    };
    // One row per limits check, in order.
    const Row rows[] = {
        {false, std::nullopt},  // room: nothing to say
        {true, true},           // full: stop reading
        {true, std::nullopt},   // still full: said already
        {false, false},         // below the limit again: resume
        {false, std::nullopt},
        {true, true},
    };
    WhenFull when_full("stop_reading");
    CHECK_FALSE(when_full.drops_oldest());
    int check = 0;
    for (const Row& row : rows) {
        INFO("check " << ++check);
        CHECK(when_full.pause_change(row.over_limit) == row.change);
    }
}

TEST_CASE("when full: drop_oldest never pauses reading, the store drops its oldest batches", "[bridge][limits]") {
    WhenFull when_full("drop_oldest");
    CHECK(when_full.drops_oldest());
    CHECK(when_full.pause_change(true) == std::nullopt);
    CHECK(when_full.pause_change(false) == std::nullopt);
}
