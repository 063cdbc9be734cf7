// What the status page's device and value panels are fed from: the latest reading per device and
// metric, and readings per device over the last minute.

#include <catch2/catch.hpp>

#include <vector>

#include "gateway/ops/live_values.hpp"

using namespace loopgate;

namespace {
constexpr std::int64_t s = 1'000'000'000;

Reading reading(const std::string& device, const std::string& metric, double value, std::int64_t at) {
    Reading r;
    r.device = device;
    r.metric = metric;
    r.value = value;
    r.receive_time_ns = at;
    return r;
}
}  // namespace

TEST_CASE("the latest reading of each device and metric is kept") {
    LiveValues live;
    std::vector<Reading> batch{reading("ws1", "t", 1, 100 * s), reading("ws1", "h", 50, 100 * s), reading("m", "v", 230, 100 * s)};
    live.observe(batch);
    batch = {reading("ws1", "t", 2, 101 * s)};
    live.observe(batch);
    CHECK(std::get<double>(live.latest().at("ws1").at("t").value) == 2);
    CHECK(std::get<double>(live.latest().at("ws1").at("h").value) == 50);
    CHECK(std::get<double>(live.latest().at("m").at("v").value) == 230);
    CHECK(live.devices().at("ws1").readings == 3);
    CHECK(live.devices().at("ws1").last_reading_ns == 101 * s);
}

TEST_CASE("readings in the last minute leave out older seconds, even ones in a reused bucket") {
    LiveValues live;
    std::vector<Reading> batch;
    for (int second = 0; second < 120; ++second) batch.push_back(reading("ws1", "t", second, (1000 + second) * s));
    live.observe(batch);
    const DeviceActivity& a = live.devices().at("ws1");
    CHECK(LiveValues::last_minute(a, 1119 * s) == 60);
    CHECK(LiveValues::last_minute(a, 1149 * s) == 30);
    CHECK(LiveValues::last_minute(a, 1300 * s) == 0);
}

TEST_CASE("live values keep at most the limit's names, count readings of new names beyond it and update known ones") {
    LiveValues live;
    live.set_limit(3);
    std::vector<Reading> batch;
    for (int i = 0; i < 10; ++i) batch.push_back(reading("boat", "xdr." + std::to_string(i), i, 100 * s));
    live.observe(batch);
    CHECK(live.size() == 3);
    CHECK(live.latest().at("boat").size() == 3);
    CHECK(live.untracked() == 7);
    batch = {reading("boat", "xdr.0", 42, 101 * s), reading("other", "x", 1, 101 * s), reading("other", "y", 1, 101 * s)};
    live.observe(batch);
    CHECK(std::get<double>(live.latest().at("boat").at("xdr.0").value) == 42);
    // A second device fits (devices are bounded by the same limit) but its values do not.
    CHECK(live.untracked() == 9);
    CHECK(live.size() == 3);
    CHECK(live.devices().at("boat").readings == 11);
}
