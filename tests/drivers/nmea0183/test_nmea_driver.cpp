// The nmea0183 driver as the gateway sees it: config, device naming, time placement, decimation,
// counters.
#include <catch2/catch.hpp>

#include <ctime>
#include <fstream>
#include <sstream>
#include <string>

#include "drivers/nmea0183/nmea_decode.hpp"
#include "drivers/nmea0183/nmea_driver.hpp"
#include "drivers/registry.hpp"

using namespace loopgate;

namespace {

std::string with_checksum(std::string text) {
    unsigned sum = 0;
    for (std::size_t i = 1; i < text.size(); ++i) sum ^= static_cast<unsigned char>(text[i]);
    static const char* hex = "0123456789ABCDEF";
    return text + "*" + hex[sum >> 4] + hex[sum & 15] + "\r\n";
}

struct Harness {
    ConfigNode root;
    std::unique_ptr<Driver> driver;
    std::int64_t steady_ms = 0;

    // ConfigNode is built, never assigned: assigning copies YAML content by reference and throws
    // when the source is an absent key.
    explicit Harness(const std::string& yaml, std::string port = "gps")
        : root(ConfigNode::load_string(yaml, "test.yaml")) {
        PortInfo info;
        info.name = std::move(port);
        DriverSpec spec{info, root["settings"], root["devices"]};
        driver = make_nmea_driver(spec);
    }
    std::vector<Reading> feed(const std::string& bytes) {
        DriverOutput out;
        DriverClock now{SteadyTime(std::chrono::milliseconds(steady_ms)), 1'000'000 + steady_ms};
        driver->on_bytes(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()), now, out);
        CHECK(out.to_write.empty());  // a listener never talks
        return out.readings;
    }
    std::uint64_t counter(const std::string& name) const { return driver->counters().at(name); }
};

const Reading* find(const std::vector<Reading>& rs, const std::string& metric) {
    for (const auto& r : rs)
        if (r.metric == metric) return &r;
    return nullptr;
}

std::int64_t utc_ns(int y, int mo, int d, int h, int mi, int s, int ms = 0) {
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    return static_cast<std::int64_t>(timegm(&tm)) * 1'000'000'000 + ms * 1'000'000LL;
}

std::string gga(const std::string& time) {
    return with_checksum("$GPGGA," + time + ",4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,");
}

}  // namespace

TEST_CASE("nmea driver: device naming and settings", "[nmea]") {
    SECTION("registered under its name") {
        auto root = ConfigNode::load_string("driver: nmea0183\n", "test.yaml");
        DriverSpec spec;
        CHECK(make_driver(root["driver"], spec) != nullptr);
    }
    SECTION("no settings, no devices, no port name: device 'nmea' (the decode command)") {
        Harness h("{}", "");
        auto rs = h.feed(with_checksum("$GPHDT,274.07,T"));
        REQUIRE(rs.size() == 1);
        CHECK(rs[0].device == "nmea");
    }
    SECTION("no devices: the port name") {
        Harness h("{}", "ttyUSB0");
        CHECK(h.feed(with_checksum("$GPHDT,274.07,T"))[0].device == "ttyUSB0");
    }
    SECTION("one named device") {
        Harness h("devices: [{name: boat}]");
        CHECK(h.feed(with_checksum("$GPHDT,274.07,T"))[0].device == "boat");
    }
    SECTION("config errors name the place") {
        auto fails = [](const std::string& yaml, const std::string& what) {
            INFO(yaml);
            CHECK_THROWS_WITH(Harness(yaml), Catch::Contains(what) && Catch::Contains("test.yaml:"));
        };
        fails("devices: [{name: a}, {name: b}]", "at most one device");
        fails("devices: [{name: a, unit: 3}]", "unknown key 'unit'");
        fails("devices: [{name: 'a/b'}]", "must not contain '/'");
        fails("settings: {proprietray: pass}", "did you mean 'proprietary'");
        fails("settings: {proprietary: keep}", "pass");
        fails("settings: {max_length: 8}", "max_length");
        fails("settings: {decimate: {lattitude: 1s}}", "unknown metric 'lattitude'");
        fails("settings: {decimate: {latitude: fast}}", "duration");
        fails("settings: {decimate: [latitude]}", "expected a map");
    }
}

TEST_CASE("nmea driver: source time from the sentence, date from RMC/ZDA", "[nmea]") {
    Harness h("{}");
    SECTION("before any date: no source time, counted; receive time always") {
        auto rs = h.feed(gga("123519"));
        REQUIRE_FALSE(rs.empty());
        for (const auto& r : rs) {
            CHECK_FALSE(r.source_time_ns.has_value());
            CHECK(r.receive_time_ns == 1'000'000);
        }
        CHECK(h.counter("no_date") == 1);
    }
    SECTION("RMC dates itself and the GGA after it; sentences without time get none") {
        auto rmc = h.feed(with_checksum("$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W"));
        CHECK(find(rmc, "latitude")->source_time_ns == utc_ns(1994, 3, 23, 12, 35, 19));
        auto rs = h.feed(gga("123519.25"));
        CHECK(find(rs, "altitude")->source_time_ns == utc_ns(1994, 3, 23, 12, 35, 19, 250));
        auto hdt = h.feed(with_checksum("$GPHDT,274.07,T"));
        CHECK_FALSE(hdt[0].source_time_ns.has_value());
    }
    SECTION("midnight rollover: a time after midnight moves to the next day") {
        h.feed(with_checksum("$GPRMC,235959,A,4807.038,N,01131.000,E,0,0,311223,,"));
        auto rs = h.feed(gga("000001"));
        CHECK(find(rs, "latitude")->source_time_ns == utc_ns(2024, 1, 1, 0, 0, 1));
        // ... and keeps rolling without another RMC.
        h.feed(gga("120000"));
        h.feed(gga("235959.5"));
        rs = h.feed(gga("000000.5"));
        CHECK(find(rs, "latitude")->source_time_ns == utc_ns(2024, 1, 2, 0, 0, 0, 500));
    }
    SECTION("a late sentence from before midnight stays on the old day") {
        h.feed(with_checksum("$GPZDA,000000.50,01,01,2024,00,00"));
        auto rs = h.feed(gga("235959.90"));
        CHECK(find(rs, "latitude")->source_time_ns == utc_ns(2023, 12, 31, 23, 59, 59, 900));
    }
}

TEST_CASE("nmea driver: decimation on the steady time passed in", "[nmea]") {
    Harness h("settings: {decimate: {latitude: 1s, default: 0}}");
    int latitudes = 0, longitudes = 0;
    for (int ms : {0, 500, 1000, 1600, 2000}) {
        h.steady_ms = ms;
        auto rs = h.feed(gga("123519"));
        latitudes += find(rs, "latitude") != nullptr;
        longitudes += find(rs, "longitude") != nullptr;
    }
    CHECK(latitudes == 3);  // at 0, 1000, 2000
    CHECK(longitudes == 5);
    CHECK(h.counter("decimated") == 2);

    Harness all("settings: {decimate: {default: 2s, hdop: 0}}");
    std::size_t first = all.feed(gga("123519")).size();
    all.steady_ms = 1000;
    auto second = all.feed(gga("123520"));
    REQUIRE(second.size() == 1);
    CHECK(second[0].metric == "hdop");
    CHECK(first == 7);
}

TEST_CASE("nmea driver: counters and resync over a dirty stream", "[nmea]") {
    Harness h("settings: {proprietary: pass}");
    std::string stream = std::string("\x00\x13\xfe", 3) + with_checksum("$GPHDT,274.07,T") +
                         "$GPGGA,1235" +                            // cut by the next start
                         with_checksum("$SDDBT,7.7,f,2.3,M,1.3,F") +
                         "$GPHDT,274.07,T*00\r\n" +                 // bad checksum
                         "$GPHDT,274.07,T\r\n" +                    // no checksum
                         "$GPHDT,274.07,T*0\r\n" +                  // last byte lost
                         "$" + std::string(300, 'X') + "\r\n" +    // overlong
                         with_checksum("$GPGRS,150119.000,1,-0.33") + // unknown
                         with_checksum("$PGRME,9.1,M,15.0,M,12.0,M") + with_checksum("$YXMTW,17.5,C");
    auto rs = h.feed(stream);
    std::vector<std::string> metrics;
    for (const auto& r : rs) metrics.push_back(r.metric);
    CHECK(metrics == std::vector<std::string>{"heading_true", "depth_below_transducer", "proprietary.GRME",
                                              "water_temperature"});
    CHECK(h.counter("garbage_bytes") == 3);
    CHECK(h.counter("truncated") == 2);
    CHECK(h.counter("bad_checksum") == 1);
    CHECK(h.counter("missing_checksum") == 1);
    CHECK(h.counter("overlong") == 1);
    CHECK(h.counter("unknown_sentence") == 1);
    CHECK(h.counter("proprietary") == 1);
    CHECK(h.counter("sentences") == 5);
    CHECK(h.counter("decoded") == 3);

    SECTION("closing the line drops a partial sentence") {
        h.feed("$GPHDT,27");
        DriverOutput closed;
        h.driver->on_close(closed);
        CHECK(h.feed("4.07,T*03\r\n").empty());
        CHECK(h.counter("truncated") == 3);
    }
}

TEST_CASE("nmea driver: options", "[nmea]") {
    SECTION("missing checksums accepted only when allowed") {
        Harness strict("{}");
        CHECK(strict.feed("$GPHDT,274.07,T\r\n").empty());
        Harness lax("settings: {allow_missing_checksum: true}");
        CHECK(lax.feed("$GPHDT,274.07,T\r\n").size() == 1);
        CHECK(lax.feed("$GPHDT,274.07,T*00\r\n").empty());  // a wrong checksum is still wrong
    }
    SECTION("proprietary ignored by default, still counted") {
        Harness h("{}");
        CHECK(h.feed(with_checksum("$PGRME,9.1,M,15.0,M,12.0,M")).empty());
        CHECK(h.counter("proprietary") == 1);
    }
    SECTION("speed in knots as well") {
        Harness h("settings: {speed_knots: true}");
        auto rs = h.feed(with_checksum("$GPVTG,054.7,T,034.4,M,005.5,N,010.2,K"));
        REQUIRE(find(rs, "speed_knots"));
        CHECK(find(rs, "speed_knots")->value == Value(5.5));
        CHECK(find(rs, "speed_knots")->unit == "kn");
    }
    SECTION("max_length bounds sentences") {
        Harness h("settings: {max_length: 20}");
        CHECK(h.feed(with_checksum("$GPHDT,274.07,T")).size() == 1);  // 18 characters
        CHECK(h.feed(with_checksum("$GPHDT,274.0700000,T")).empty());
        CHECK(h.counter("overlong") == 1);
    }
    SECTION("GSV groups through the driver") {
        Harness h("{}");
        h.feed(with_checksum("$GPGSV,2,1,05,01,40,083,46,02,17,308,41,12,07,344,39,14,22,228,45"));
        auto rs = h.feed(with_checksum("$GPGSV,2,2,05,20,10,100,"));
        REQUIRE(find(rs, "sky.gps.satellites_in_view"));
        CHECK(find(rs, "sky.gps.satellites_in_view")->value == Value(std::int64_t{5}));
        CHECK(find(rs, "sky.gps.satellites_tracked")->value == Value(std::int64_t{4}));
        CHECK(find(rs, "sky.gps.snr_max")->value == Value(46.0));
        h.feed(with_checksum("$GPGSV,2,2,05,20,10,100,"));
        CHECK(h.counter("gsv_incomplete") == 1);
    }
}

TEST_CASE("nmea driver: the docs list every metric, setting and counter", "[nmea]") {
    std::ifstream in(LOOPGATE_SOURCE_DIR "/drivers/nmea0183/README.md");
    REQUIRE(in.good());
    std::stringstream text;
    text << in.rdbuf();
    const std::string doc = text.str();
    for (const auto& name : nmea::static_metric_names()) {
        INFO("metric " << name);
        CHECK(doc.find("`" + name + "`") != std::string::npos);
    }
    Harness h("{}");
    for (const auto& [name, value] : h.driver->counters()) {
        INFO("counter " << name);
        CHECK(doc.find("| `" + name + "` |") != std::string::npos);
    }
    for (const char* setting : {"proprietary", "max_length", "allow_missing_checksum", "speed_knots", "decimate"}) {
        INFO("setting " << setting);
        CHECK(doc.find(std::string("| `") + setting + "` |") != std::string::npos);
    }
}
