// Every driver the registry builds hands out readings fit to publish, whatever the device sent:
// text is well-formed UTF-8 without control characters, and a value that is not a finite number is
// never `good`. Both are counted.

#include <catch2/catch.hpp>

#include "tests/drivers/hex_bytes.hpp"

#include <cmath>
#include <limits>

#include "drivers/modbus_rtu/crc16.hpp"
#include "drivers/reading_guard.hpp"
#include "drivers/registry.hpp"
#include "drivers/text/sanitize_text.hpp"

using namespace loopgate;

namespace {

const std::string R = "\xEF\xBF\xBD";  // U+FFFD

// A driver built the way the gateway and `loopgate decode` build it: by name, through the registry.
struct Registered {
    ConfigNode root;
    std::unique_ptr<Driver> driver;

    explicit Registered(const std::string& yaml) : root(ConfigNode::load_string(yaml, "port.yaml")) {
        DriverSpec spec{PortInfo{"p", 9600, 8, false, 1}, root["settings"], root["devices"]};
        driver = make_driver(root["driver"], spec);
    }
    std::vector<Reading> feed(const std::string& bytes) {
        DriverOutput out;
        DriverClock now{SteadyTime{} + std::chrono::hours(1), 1'700'000'000'000'000'000};
        driver->on_bytes(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()), now, out);
        return out.readings;
    }
    std::vector<Reading> feed(std::vector<std::uint8_t> bytes) { return feed(std::string(bytes.begin(), bytes.end())); }
    std::uint64_t counter(const std::string& name) const { return driver->counters().at(name); }
};

const Reading& only(const std::vector<Reading>& rs, const std::string& metric) {
    const Reading* found = nullptr;
    for (const auto& r : rs)
        if (r.metric == metric) found = &r;
    REQUIRE(found);
    return *found;
}

std::string with_checksum(std::string text) {
    unsigned sum = 0;
    for (std::size_t i = 1; i < text.size(); ++i) sum ^= static_cast<unsigned char>(text[i]);
    static const char* hex_digits = "0123456789ABCDEF";
    return text + "*" + hex_digits[sum >> 4] + hex_digits[sum & 15] + "\r\n";
}

std::vector<std::uint8_t> with_crc(std::vector<std::uint8_t> f) {
    modbus::append_crc(f);
    return f;
}

const char* line_port = R"(
driver: line
settings:
  format: keyvalue
  fields:
    - {field: ID, metric: id, type: string}
    - {field: X, metric: x, scale: 1e10}
devices: [{name: ws1}]
)";

}  // namespace

TEST_CASE("guard_reading cleans every string of a reading and flags non-finite doubles bad", "[guard]") {
    GuardCounts counts;
    Reading r;
    r.device = "dev";
    r.metric = "m";
    r.unit = "deg\xB0";  // Latin-1 degree sign
    r.value = std::string("caf\xC3");
    r.quality_reason = "";
    guard_reading(r, counts);
    CHECK(r.value == Value{std::string("caf" + R)});
    CHECK(r.unit == "deg" + R);
    CHECK(r.quality == Quality::good);
    CHECK(counts.text_replaced == 2);
    CHECK(counts.non_finite == 0);

    for (double v : {std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity(),
                     std::numeric_limits<double>::quiet_NaN()}) {
        Reading n;
        n.value = v;
        n.quality = Quality::uncertain;
        n.quality_reason = "clock not synchronized";
        guard_reading(n, counts);
        CHECK(n.quality == Quality::bad);
        CHECK(n.quality_reason == non_finite_reason);
    }
    CHECK(counts.non_finite == 3);

    Reading already_bad;
    already_bad.value = std::numeric_limits<double>::infinity();
    already_bad.quality = Quality::bad;
    already_bad.quality_reason = "device offline";
    guard_reading(already_bad, counts);
    CHECK(already_bad.quality_reason == "device offline");  // the driver's own reason stands

    Reading finite;
    finite.value = 1e308;
    guard_reading(finite, counts);
    CHECK(finite.quality == Quality::good);
    CHECK(counts.non_finite == 4);
}

TEST_CASE("line driver: ill-formed UTF-8 and control characters in a string field become U+FFFD", "[guard][line]") {
    Registered p(line_port);
    auto rs = p.feed("ID=\xFF\xFE X=1\nID=caf\xC3 X=2\nID=\xED\xA0\x80 X=3\nID=\x1B[2J\x07 X=4\nID=ok\xF0\x9F\x98\x80 X=5\n");
    std::vector<std::string> ids;
    for (const auto& r : rs)
        if (r.metric == "id") ids.push_back(std::get<std::string>(r.value));
    CHECK(ids == std::vector<std::string>{R + R, "caf" + R, R + R + R, R + "[2J" + R, "ok\xF0\x9F\x98\x80"});
    for (const auto& id : ids) CHECK(clean_text(id));
    CHECK(p.counter("text_replaced") == 2 + 1 + 3 + 2);
    CHECK(p.counter("records") == 5);
}

TEST_CASE("line driver: a scale that overflows to infinity gives a bad reading, not a good one", "[guard][line]") {
    Registered p(line_port);
    auto rs = p.feed("X=1e300\nX=2\n");
    REQUIRE(rs.size() == 2);
    CHECK(std::isinf(std::get<double>(rs[0].value)));
    CHECK(rs[0].quality == Quality::bad);
    CHECK(rs[0].quality_reason == "not a finite number");
    CHECK(rs[1].value == Value{2e10});
    CHECK(rs[1].quality == Quality::good);
    CHECK(p.counter("non_finite") == 1);
}

TEST_CASE("nmea0183 driver: a speed that overflows in the knots conversion is bad", "[guard][nmea]") {
    Registered p(R"(
driver: nmea0183
settings: {speed_knots: true, max_length: 400}
)");
    // 1.7e308 m/s is a finite double; in knots (x 1.94) it is not.
    std::string huge = "17" + std::string(307, '0') + ".0";
    auto rs = p.feed(with_checksum("$WIMWV,45.0,R," + huge + ",M,A"));
    const Reading& mps = only(rs, "wind_speed_apparent");
    const Reading& knots = only(rs, "wind_speed_apparent_knots");
    CHECK(mps.quality == Quality::good);
    CHECK(std::isinf(std::get<double>(knots.value)));
    CHECK(knots.quality == Quality::bad);
    CHECK(knots.quality_reason == "not a finite number");
    CHECK(only(rs, "wind_angle_apparent").quality == Quality::good);
    CHECK(p.counter("non_finite") == 1);
    CHECK(p.counter("text_replaced") == 0);
}

TEST_CASE("modbus-rtu driver: a string point's non-UTF-8 bytes and controls become U+FFFD", "[guard][modbus]") {
    Registered p(R"(
driver: modbus-rtu
devices:
  - name: meter
    unit: 1
    points:
      - {name: label, table: holding, address: 0, type: string, length: 4}
      - {name: power, table: holding, address: 4, type: float32}
)");
    // A capture: read 6 holding registers; "\xFF\xFE" "ca" "f\xC3" "\x1B!" and a float32 NaN.
    p.feed(with_crc(hex("01 03 00 00 00 06")));
    auto rs = p.feed(with_crc(hex("01 03 0C FF FE 63 61 66 C3 1B 21 7F C0 00 00")));
    const Reading& label = only(rs, "label");
    CHECK(label.value == Value{R + R + "caf" + R + R + "!"});
    CHECK(label.quality == Quality::good);
    const Reading& power = only(rs, "power");
    CHECK(power.quality == Quality::bad);
    CHECK(power.quality_reason == "not a finite number");
    CHECK(p.counter("text_replaced") == 4);
    CHECK(p.counter("non_finite") == 1);
}

TEST_CASE("guarded drivers keep their own counters and behaviour", "[guard]") {
    Registered p(line_port);
    p.feed("ID=a X=1\nnothing here\n");
    auto c = p.driver->counters();
    CHECK(c.at("records") == 1);
    CHECK(c.at("unmatched_lines") == 1);
    CHECK(c.at("text_replaced") == 0);
    CHECK(c.at("non_finite") == 0);
}

TEST_CASE("nmea0183 driver: names a talker invents stop at the port's max_metrics, counted and said once", "[guard][nmea]") {
    ConfigNode root = ConfigNode::load_string("driver: nmea0183\ndevices: [{name: boat}]\n", "port.yaml");
    PortInfo port{"p", 4800, 8, false, 1};
    port.max_metrics = 3;
    auto driver = make_driver(root["driver"], DriverSpec{port, root["settings"], root["devices"]});
    DriverClock now{SteadyTime{} + std::chrono::hours(1), 1'700'000'000'000'000'000};
    auto feed = [&](const std::string& sentence, DriverOutput& out) {
        driver->on_bytes(std::span(reinterpret_cast<const std::uint8_t*>(sentence.data()), sentence.size()), now, out);
    };
    auto metrics = [](const DriverOutput& out) {
        std::vector<std::string> m;
        for (const auto& r : out.readings) m.push_back(r.metric);
        return m;
    };

    DriverOutput first;
    feed(with_checksum("$IIXDR,C,20.0,C,A,C,20.0,C,B"), first);
    CHECK(metrics(first) == std::vector<std::string>{"xdr.A", "xdr.B"});
    CHECK(first.warnings.empty());

    DriverOutput flood;
    feed(with_checksum("$IIXDR,C,21.0,C,C,C,21.0,C,D,C,21.0,C,A,C,21.0,C,E"), flood);
    feed(with_checksum("$IIXDR,C,22.0,C,F,C,22.0,C,B"), flood);
    CHECK(metrics(flood) == std::vector<std::string>{"xdr.C", "xdr.A", "xdr.B"});  // known names keep passing
    REQUIRE(flood.warnings.size() == 1);
    CHECK(flood.warnings[0].find("max_metrics") != std::string::npos);
    CHECK(flood.warnings[0].find("'boat/xdr.D'") != std::string::npos);
    CHECK(driver->counters().at("metrics_over_limit") == 3);  // D, E, F

    DriverOutput later;
    feed(with_checksum("$IIXDR,C,23.0,C,G"), later);
    CHECK(later.readings.empty());
    CHECK(later.warnings.empty());  // said once
    CHECK(driver->counters().at("metrics_over_limit") == 4);
}

TEST_CASE("the name limit counts device/metric pairs and lets a device's online verdict through", "[guard]") {
    NameLimit limit(2);
    CHECK(limit.admit("a", "x"));
    CHECK(limit.admit("b", "x"));  // another device's x is another name
    CHECK_FALSE(limit.admit("a", "y"));
    CHECK(limit.admit("a", "x"));
    CHECK(limit.admit("c", "online"));
    CHECK(limit.size() == 2);
    CHECK(limit.refused() == 1);
}
