// Report by exception (gateway/report/): the filter on a fake clock, and how a port's settings
// resolve over a real driver's points.
#include <catch2/catch.hpp>

#include <chrono>
#include <cmath>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "drivers/registry.hpp"
#include "gateway/config.hpp"
#include "gateway/report/report_filter.hpp"
#include "gateway/report/report_plan.hpp"

using namespace loopgate;
using namespace std::chrono_literals;

namespace {

using Steady = ReportFilter::Steady;

Reading reading(const std::string& metric, Value v, Quality q = Quality::good, std::string reason = "") {
    Reading r;
    r.device = "dev";
    r.metric = metric;
    r.value = std::move(v);
    r.quality = q;
    r.quality_reason = std::move(reason);
    r.receive_time_ns = 1'000;
    return r;
}

// One device, one policy for all its metrics, time under the test's control.
struct Rig {
    ReportFilter filter;
    Steady now = Steady{} + 1h;

    explicit Rig(ReportPolicy policy, std::optional<std::int64_t> offline_ms = std::nullopt) {
        DeviceReport d;
        d.policy = policy;
        d.offline_after_silence_ms = offline_ms;
        filter.configure({{"dev", d}}, now);
    }
    // The values reported for this one reading.
    std::vector<Reading> feed(Reading r) {
        std::vector<Reading> rs{std::move(r)};
        filter.submit(rs, now);
        return rs;
    }
    bool passes(Value v, Quality q = Quality::good) { return !feed(reading("x", std::move(v), q)).empty(); }
    std::vector<Reading> advance(std::chrono::milliseconds by) {
        now += by;
        std::vector<Reading> out;
        filter.on_timer(now, 42'000, out);
        return out;
    }
};

ReportPolicy deadband(double amount, bool percent = false) {
    ReportPolicy p;
    p.deadband = Deadband{amount, percent};
    return p;
}

}  // namespace

TEST_CASE("report filter: an absolute deadband reports a move of at least its size", "[report]") {
    Rig rig(deadband(0.5));
    CHECK(rig.passes(20.0));        // the first value always
    CHECK_FALSE(rig.passes(20.4));
    CHECK_FALSE(rig.passes(19.6));  // measured from the last reported value, both ways
    CHECK(rig.passes(20.5));        // exactly the deadband is a move
    CHECK_FALSE(rig.passes(20.9));
    CHECK(rig.passes(std::int64_t{21}));  // integers are numbers too
    CHECK(rig.filter.counts().suppressed == 3);
}

TEST_CASE("report filter: a percentage deadband is of the last reported value, and of zero any change", "[report]") {
    Rig rig(deadband(2, true));
    CHECK(rig.passes(100.0));
    CHECK_FALSE(rig.passes(101.9));
    CHECK(rig.passes(98.0));
    CHECK_FALSE(rig.passes(99.9));  // 2 % of 98 is 1.96
    CHECK(rig.passes(-98.0));       // magnitude: the sign is a move like any other
    CHECK(rig.passes(0.0));
    CHECK_FALSE(rig.passes(0.0));   // an unchanged zero is not a change
    CHECK(rig.passes(0.001));       // but any move away from zero is
}

TEST_CASE("report filter: NaN, text and switches", "[report]") {
    Rig rig(deadband(1));
    const double nan = std::numeric_limits<double>::quiet_NaN();
    CHECK(rig.passes(5.0));
    CHECK(rig.passes(nan));          // a number turning NaN is a change
    CHECK_FALSE(rig.passes(nan));    // NaN again is not
    CHECK(rig.passes(5.2));          // and back to a number is
    CHECK(rig.passes(std::string("ok")));
    CHECK_FALSE(rig.passes(std::string("ok")));
    CHECK(rig.passes(true));
}

TEST_CASE("report filter: quality changes and bad readings are never filtered", "[report]") {
    Rig rig(deadband(10));
    CHECK(rig.passes(1.0));
    CHECK(rig.passes(1.0, Quality::bad));       // quality changed
    CHECK(rig.passes(1.0, Quality::bad));       // bad is not filtered at all
    CHECK(rig.passes(1.0));                     // good again
    CHECK_FALSE(rig.passes(1.0));
}

TEST_CASE("report filter: on_change reports exact changes only, and false overrides a broader true", "[report]") {
    ReportPolicy p;
    p.on_change = true;
    Rig rig(p);
    CHECK(rig.passes(std::int64_t{3}));
    CHECK_FALSE(rig.passes(std::int64_t{3}));
    CHECK(rig.passes(std::int64_t{4}));

    ReportPolicy point;
    point.on_change = false;
    ReportPolicy resolved = point.over(p);
    CHECK(resolved.on_change == false);
    CHECK_FALSE(resolved.any());
}

TEST_CASE("report filter: after max_silence the latest value is reported again with its source time", "[report]") {
    ReportPolicy p = deadband(1);
    p.max_silence_ms = 60'000;
    Rig rig(p);
    Reading first = reading("x", 7.0);
    first.receive_time_ns = 5'000;
    REQUIRE(rig.feed(first).size() == 1);
    REQUIRE(rig.filter.next_due());
    CHECK(*rig.filter.next_due() == rig.now + 60s);
    CHECK(rig.advance(59'999ms).empty());
    auto beat = rig.advance(1ms);
    REQUIRE(beat.size() == 1);
    CHECK(std::get<double>(beat[0].value) == 7.0);
    CHECK(beat[0].source_time_ns == 5'000);      // measured then
    CHECK(beat[0].receive_time_ns == 42'000);    // vouched for now
    CHECK(rig.filter.counts().heartbeats == 1);
    // The heartbeat counts as a report: the next one is max_silence later.
    CHECK(rig.advance(59'000ms).empty());
    CHECK(rig.advance(1'000ms).size() == 1);
}

TEST_CASE("report filter: a value arriving after max_silence is reported even inside the deadband", "[report]") {
    ReportPolicy p = deadband(1);
    p.max_silence_ms = 1'000;
    Rig rig(p);
    CHECK(rig.passes(7.0));
    rig.now += 400ms;
    CHECK_FALSE(rig.passes(7.1));
    rig.now += 600ms;
    auto out = rig.feed(reading("x", 7.2));
    REQUIRE(out.size() == 1);
    CHECK(std::get<double>(out[0].value) == 7.2);
}

TEST_CASE("report filter: min_interval throttles, the latest value wins, quality is not held back", "[report]") {
    ReportPolicy p;
    p.min_interval_ms = 1'000;
    Rig rig(p);
    CHECK(rig.passes(1.0));
    rig.now += 100ms;
    CHECK_FALSE(rig.passes(2.0));  // held
    rig.now += 100ms;
    CHECK_FALSE(rig.passes(3.0));  // replaces the held one
    CHECK(rig.filter.counts().throttled == 1);
    CHECK(rig.filter.counts().replaced == 1);
    REQUIRE(rig.filter.next_due());
    CHECK(*rig.filter.next_due() == rig.now + 800ms);
    CHECK(rig.advance(799ms).empty());
    auto out = rig.advance(1ms);
    REQUIRE(out.size() == 1);
    CHECK(std::get<double>(out[0].value) == 3.0);
    // A quality change goes out at once, throttle or not.
    rig.now += 10ms;
    CHECK(rig.passes(3.0, Quality::bad));
}

TEST_CASE("report filter: a silent device goes offline, and its next reading brings it back", "[report]") {
    ReportPolicy none;
    Rig rig(none, 5'000);
    REQUIRE(rig.filter.next_due());
    CHECK(*rig.filter.next_due() == rig.now + 5s);  // silent from the start counts too
    auto first = rig.feed(reading("x", 1.0));
    REQUIRE(first.size() == 2);
    CHECK(first[0].metric == "online");
    CHECK(std::get<bool>(first[0].value) == true);
    CHECK(first[1].metric == "x");
    CHECK(rig.advance(4'999ms).empty());
    auto off = rig.advance(1ms);
    REQUIRE(off.size() == 1);
    CHECK(off[0].device == "dev");
    CHECK(off[0].metric == "online");
    CHECK(std::get<bool>(off[0].value) == false);
    CHECK(off[0].quality == Quality::good);
    CHECK(rig.advance(60'000ms).empty());  // said once
    auto back = rig.feed(reading("x", 1.0));
    REQUIRE(back.size() == 2);
    CHECK(std::get<bool>(back[0].value) == true);
    CHECK(rig.filter.counts().offline == 1);
}

TEST_CASE("report filter: devices without settings pass untouched", "[report]") {
    Rig rig(deadband(100));
    std::vector<Reading> rs{reading("x", 1.0), reading("x", 1.0)};
    rs[0].device = "other";
    rs[1].device = "other";
    rig.filter.submit(rs, rig.now);
    CHECK(rs.size() == 2);
}

TEST_CASE("report plan: a point's settings, then report.metrics, then the device, then the port", "[report]") {
    auto root = ConfigNode::load_string(R"(
ports:
  - name: bus
    report: {max_silence: 10min, deadband: 5, metrics: {current: {deadband: "1%"}}}
    devices:
      - name: meter
        unit: 1
        report: {min_interval: 2s}
        points:
          - {name: voltage, ref: 40001, deadband: 0.5}
          - {name: current, ref: 40002}
          - {name: energy, ref: 40003, report_on_change: true}
          - {name: freq, ref: 40004}
      - name: quiet
        unit: 2
        points:
          - {name: v, ref: 40001}
)", "plan.yaml");
    PortConfig port;
    port.name = "bus";
    port.report = root["ports"].items()[0]["report"];
    port.devices = root["ports"].items()[0]["devices"];
    port.driver = ConfigNode(YAML::Node("modbus-rtu"), "plan.yaml", "driver");
    auto driver = make_driver(port.driver, driver_spec(port));
    auto plan = report_plan(port, *driver);
    REQUIRE(plan.count("meter"));
    const DeviceReport& m = plan.at("meter");
    CHECK(m.policy.min_interval_ms == 2000);   // the device's own
    CHECK(m.policy.max_silence_ms == 600000);  // the port's
    CHECK(m.policy.deadband->amount == 5);
    CHECK(m.metrics.at("voltage").deadband->amount == 0.5);  // the point wins
    CHECK(m.metrics.at("voltage").min_interval_ms == 2000);  // and inherits the rest
    CHECK(m.metrics.at("current").deadband->percent);        // report.metrics
    CHECK(m.metrics.at("energy").on_change == true);
    CHECK(m.metrics.at("energy").deadband->amount == 5);
    CHECK_FALSE(m.metrics.count("freq"));                    // the device's policy applies
    REQUIRE(plan.count("quiet"));
    CHECK(plan.at("quiet").policy.max_silence_ms == 600000);
    CHECK_FALSE(plan.at("quiet").policy.min_interval_ms);
}

TEST_CASE("report filter: a reading marked always_report (a write's read-back) is never held back", "[report]") {
    ReportPolicy p = deadband(100);
    p.min_interval_ms = 60'000;
    Rig rig(p);
    CHECK(rig.passes(1.0));
    Reading confirm = reading("x", 1.0);
    confirm.always_report = true;
    rig.now += 10ms;
    CHECK(rig.feed(confirm).size() == 1);  // inside the deadband and the throttle: still sent
    CHECK_FALSE(rig.passes(1.0));
}
