// Batching rules: a batch closes at max_readings, at max_bytes, or max_delay after it opened.

#include <catch2/catch.hpp>

#include "gateway/bridge/batcher.hpp"

using namespace loopgate;
using namespace std::chrono_literals;

namespace {
const Batcher::Time t0{};
}

TEST_CASE("a batch closes when it holds max_readings", "[batcher]") {
    Batcher b({3, 1 << 20, 100});
    CHECK(b.room() == 3);
    CHECK_FALSE(b.add(1, 50, t0));
    CHECK(b.room() == 2);
    CHECK_FALSE(b.add(1, 50, t0));
    CHECK(b.add(1, 50, t0));
    CHECK(b.room() == 0);
    b.reset();
    CHECK(b.empty());
    CHECK(b.room() == 3);
}

TEST_CASE("a batch closes when its payload reaches max_bytes", "[batcher]") {
    Batcher b({1000, 1024, 100});
    CHECK_FALSE(b.add(1, 400, t0));
    CHECK_FALSE(b.add(1, 400, t0));
    CHECK(b.add(1, 400, t0));
}

TEST_CASE("the deadline is max_delay after the first reading of the batch", "[batcher]") {
    Batcher b({1000, 1 << 20, 100});
    CHECK_FALSE(b.deadline().has_value());
    b.add(1, 10, t0 + 5ms);
    b.add(1, 10, t0 + 50ms);
    REQUIRE(b.deadline().has_value());
    CHECK(*b.deadline() == t0 + 105ms);
    b.reset();
    CHECK_FALSE(b.deadline().has_value());
    b.add(2, 10, t0 + 300ms);
    CHECK(*b.deadline() == t0 + 400ms);
}
