// Batching rules: a batch closes at max_readings, at max_bytes, or max_delay after it opened.

#include <catch2/catch.hpp>

#include "gateway/batcher.hpp"

using namespace loopgate;
using namespace std::chrono_literals;

namespace {
Reading reading(const std::string& metric, std::string value = {}) {
    Reading r;
    r.device = "d";
    r.metric = metric;
    r.value = value.empty() ? Value(1.0) : Value(std::move(value));
    return r;
}
const Batcher::Time t0{};
}  // namespace

TEST_CASE("a batch closes when it holds max_readings", "[batcher]") {
    Batcher b({3, 1 << 20, 100});
    CHECK_FALSE(b.add(reading("a"), t0));
    CHECK_FALSE(b.add(reading("b"), t0));
    CHECK(b.add(reading("c"), t0));
    auto batch = b.take();
    REQUIRE(batch.size() == 3);
    CHECK(batch[0].metric == "a");
    CHECK(batch[2].metric == "c");
    CHECK(b.empty());
}

TEST_CASE("a batch closes when its payload reaches max_bytes", "[batcher]") {
    Batcher b({1000, 1024, 100});
    CHECK_FALSE(b.add(reading("a", std::string(400, 'x')), t0));
    CHECK_FALSE(b.add(reading("b", std::string(400, 'x')), t0));
    CHECK(b.add(reading("c", std::string(400, 'x')), t0));
}

TEST_CASE("the deadline is max_delay after the first reading of the batch", "[batcher]") {
    Batcher b({1000, 1 << 20, 100});
    CHECK_FALSE(b.deadline().has_value());
    b.add(reading("a"), t0 + 5ms);
    b.add(reading("b"), t0 + 50ms);
    REQUIRE(b.deadline().has_value());
    CHECK(*b.deadline() == t0 + 105ms);
    b.take();
    CHECK_FALSE(b.deadline().has_value());
    b.add(reading("c"), t0 + 300ms);
    CHECK(*b.deadline() == t0 + 400ms);
}
