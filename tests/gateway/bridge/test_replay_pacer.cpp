// store.replay_rate: the backlog's token bucket on a fake clock.
#include <catch2/catch.hpp>

#include <optional>

#include "gateway/bridge/replay_pacer.hpp"

using namespace loopgate;
using namespace std::chrono_literals;

namespace {
const ReplayPacer::Time t0 = ReplayPacer::Time{} + 1h;
}

TEST_CASE("replay pacer: one batch after another, as the bucket allows", "[bridge][replay]") {
    struct Row {
        const char* what;
        std::chrono::milliseconds at;  // since the uplink came up
        std::size_t readings;
        std::optional<std::chrono::milliseconds> wait;  // none: it goes now
    };
    // 100 readings a second.
    const Row rows[] = {
        {"the bucket starts empty when the uplink comes up", 0ms, 10, 101ms},
        {"a tenth of a second fills ten readings' worth", 100ms, 10, std::nullopt},
        {"taken: the next ten wait another tenth", 100ms, 10, 101ms},
        {"a batch larger than a second's worth waits for a full bucket", 200ms, 300, 901ms},
        {"...and goes once it is full", 1200ms, 300, std::nullopt},
        {"leaving the bucket in debt: three seconds until the next second's worth", 1200ms, 100, 3001ms},
        {"a long pause fills at most one second's worth", 60'000ms, 100, std::nullopt},
        {"so the next batch waits again", 60'000ms, 1, 11ms},
    };
    ReplayPacer pacer(100);
    pacer.restart(t0);
    for (const Row& row : rows) {
        INFO(row.what);
        CHECK(pacer.take(row.readings, t0 + row.at) == row.wait);
    }
}

TEST_CASE("replay pacer: a refused batch takes nothing from the bucket", "[bridge][replay]") {
    ReplayPacer pacer(8);
    pacer.restart(t0);
    CHECK(pacer.take(5, t0 + 250ms) == 376ms);  // 2 tokens, 5 needed
    CHECK(pacer.take(2, t0 + 250ms) == std::nullopt);  // the 2 are still there
}

TEST_CASE("replay pacer: the bucket empties again when the uplink comes up again", "[bridge][replay]") {
    ReplayPacer pacer(8);
    pacer.restart(t0);
    CHECK(pacer.take(8, t0 + 5s) == std::nullopt);
    pacer.restart(t0 + 10s);
    CHECK(pacer.take(1, t0 + 10s) == 126ms);
}

TEST_CASE("replay pacer: no replay_rate, no pacing", "[bridge][replay]") {
    ReplayPacer pacer(0);
    pacer.restart(t0);
    for (int i = 0; i < 5; ++i) CHECK(pacer.take(100'000, t0) == std::nullopt);
}
