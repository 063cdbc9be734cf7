// AIS in the nmea0183 driver: one device per vessel, settings, the vessel bound, silence, counters.
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "drivers/nmea0183/ais_messages.hpp"
#include "drivers/nmea0183/ais_vessels.hpp"
#include "drivers/nmea0183/nmea_driver.hpp"
#include "tests/drivers/nmea0183/ais_bit_writer.hpp"

using namespace loopgate;
using ais_test::BitWriter;
using ais_test::header;

namespace {

struct Harness {
    ConfigNode root;
    std::unique_ptr<Driver> driver;
    std::int64_t steady_ms = 0;
    std::optional<SteadyTime> wake;

    explicit Harness(const std::string& yaml) : root(ConfigNode::load_string(yaml, "test.yaml")) {
        PortInfo info;
        info.name = "ship";
        DriverSpec spec{info, root["settings"], root["devices"]};
        driver = make_nmea_driver(spec);
    }
    DriverClock now() const {
        return {SteadyTime(std::chrono::milliseconds(steady_ms)), 1'700'000'000'000'000'000 + steady_ms * 1'000'000};
    }
    std::vector<Reading> feed(const std::string& bytes) {
        DriverOutput out;
        driver->on_bytes(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()), now(), out);
        wake = out.wake_at;
        return out.readings;
    }
    std::vector<Reading> timer() {
        DriverOutput out;
        driver->on_timer(now(), out);
        wake = out.wake_at;
        return out.readings;
    }
    std::uint64_t counter(const std::string& name) const {
        auto c = driver->counters();
        auto it = c.find(name);
        return it == c.end() ? 0 : it->second;
    }
};

// A class A position of `mmsi` at 1 N 2 E, made at UTC second `second`.
std::string position(std::uint32_t mmsi, unsigned second = 30) {
    BitWriter w = header(1, mmsi);
    w.put(0, 4).put(-128, 8).put(50, 10).put(0, 1).put(2 * 600000, 28).put(600000, 27).put(900, 12).put(90, 9)
        .put(second, 6).pad_to(168);
    return ais_test::sentence(w);
}

std::vector<std::string> devices(const std::vector<Reading>& rs) {
    std::vector<std::string> out;
    for (const auto& r : rs)
        if (out.empty() || out.back() != r.device) out.push_back(r.device);
    return out;
}

const Reading* find(const std::vector<Reading>& rs, const std::string& device, const std::string& metric) {
    for (const auto& r : rs)
        if (r.device == device && r.metric == metric) return &r;
    return nullptr;
}

}  // namespace

TEST_CASE("ais driver: one device per vessel, named ais-<MMSI>, beside the port's own device", "[ais]") {
    Harness h("devices: [{name: bridge_gps}]");
    auto rs = h.feed(position(2573100) + position(244660390) +
                     "$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47\r\n");
    CHECK(devices(rs) == std::vector<std::string>{"ais-2573100", "ais-244660390", "bridge_gps"});
    const Reading* lat = find(rs, "ais-2573100", "latitude");
    REQUIRE(lat);
    CHECK(std::get<double>(lat->value) == Approx(1.0));
    CHECK(lat->unit == "deg");
    CHECK(lat->receive_time_ns == h.now().wall_ns);
    // Received at 1,700,000,000 s (second 20 of its minute); made at second 30 of the minute before.
    REQUIRE(lat->source_time_ns);
    CHECK(*lat->source_time_ns == (1'700'000'000LL - 20 - 30) * 1'000'000'000);
    CHECK(h.counter("ais_sentences") == 2);
    CHECK(h.counter("ais_messages") == 2);
    CHECK(h.counter("unknown_sentence") == 0);
    CHECK(h.counter("sentences") == 3);
    // Every message is reported, also when it repeats the last one.
    CHECK(h.feed(position(2573100)).size() == 7);  // nav_status, speed, course, heading, position, type
}

TEST_CASE("ais driver: a two-sentence type 5 and a broken sequence", "[ais]") {
    Harness h("{}");
    BitWriter w = header(5, 371255000);
    w.put(2, 2).put(9266633, 30).text("HP6683", 7).text("SEA ENTERPRISE", 20).put(90, 8).pad_to(302)
        .text("LEMMER", 20).pad_to(424);
    auto [payload, fill] = w.armour();
    const std::string one = payload.substr(0, 60), two = payload.substr(60);
    const std::string first = ais_test::with_checksum("!AIVDM,2,1,9,B," + one + ",0");
    const std::string second = ais_test::with_checksum("!AIVDM,2,2,9,B," + two + "," + std::to_string(fill));

    CHECK(h.feed(first).empty());
    auto rs = h.feed(second);
    REQUIRE(find(rs, "ais-371255000", "ship_name"));
    CHECK(std::get<std::string>(find(rs, "ais-371255000", "ship_name")->value) == "SEA ENTERPRISE");
    CHECK(std::get<std::string>(find(rs, "ais-371255000", "destination")->value) == "LEMMER");
    CHECK(std::get<std::int64_t>(find(rs, "ais-371255000", "imo")->value) == 9266633);
    // No UTC second in a type 5: the source time is the receive time.
    CHECK(find(rs, "ais-371255000", "ship_name")->source_time_ns == h.now().wall_ns);

    // The second fragment twice, then the second without the first: nothing glued, each counted.
    CHECK(h.feed(second).empty());
    CHECK(h.feed(first + position(1) + second).size() > 0);  // a single-sentence message between is fine
    CHECK(h.counter("ais_incomplete") == 1);
    CHECK(h.feed(ais_test::with_checksum("!AIVDM,2,1,3,B," + one + ",0") + ais_test::with_checksum("!AIVDM,2,2,4,B," + two + ",2")).empty());
    CHECK(h.counter("ais_incomplete") == 2);
}

TEST_CASE("ais driver: other types are counted per type, bad input per cause", "[ais]") {
    Harness h("{}");
    BitWriter binary = header(8, 1);
    binary.pad_to(168);
    BitWriter safety = header(14, 1);
    safety.pad_to(60);
    BitWriter short_a = header(1, 1);
    short_a.pad_to(100);
    auto rs = h.feed(ais_test::sentence(binary) + ais_test::sentence(binary) + ais_test::sentence(safety) +
                     ais_test::sentence(short_a) + ais_test::with_checksum("!AIVDM,1,1,,A,13X,0") +
                     ais_test::with_checksum("!AIVDM,1,1,,A") + "!AIVDM,1,1,,A,13u,0*00\r\n");
    CHECK(rs.empty());
    CHECK(h.counter("ais_other_type_8") == 2);
    CHECK(h.counter("ais_other_type_14") == 1);
    CHECK(h.counter("ais_bad_length") == 1);
    CHECK(h.counter("ais_bad_payload") == 1);
    CHECK(h.counter("ais_bad_fragment") == 1);
    CHECK(h.counter("bad_checksum") == 1);
    CHECK(h.counter("ais_messages") == 0);
}

TEST_CASE("ais driver: ais: false turns AIS off", "[ais]") {
    Harness h("settings: {ais: false}");
    CHECK(h.feed(position(2573100)).empty());
    CHECK(h.counter("ais_ignored") == 1);
    CHECK(h.counter("ais_messages") == 0);
}

TEST_CASE("ais driver: settings are checked", "[ais]") {
    CHECK_THROWS_WITH(Harness("settings: {ais: {max_vessel: 10}}"), Catch::Contains("max_vessel"));
    CHECK_THROWS_WITH(Harness("settings: {ais: {max_vessels: 0}}"), Catch::Contains("max_vessels"));
    CHECK_THROWS_WITH(Harness("settings: {ais: maybe}"), Catch::Contains("ais"));
    CHECK_NOTHROW(Harness("settings: {ais: {max_vessels: 10}}"));
    CHECK_NOTHROW(Harness("settings: {ais: true}"));
}

TEST_CASE("ais driver: beyond max_vessels the least recently heard is forgotten", "[ais]") {
    Harness h("settings: {ais: {max_vessels: 2}}\ndevices: [{name: gps, offline_after_silence: 10s}]");
    CHECK(find(h.feed(position(1)), "ais-1", "online"));  // first heard: online
    h.steady_ms += 1000;
    h.feed(position(2));
    h.steady_ms += 1000;
    h.feed(position(1));  // 2 is now the least recently heard
    h.steady_ms += 1000;
    h.feed(position(3));
    CHECK(h.counter("ais_vessels_forgotten") == 1);
    // 2 was forgotten: it is new again when heard; 1 was remembered: no second `online`.
    h.steady_ms += 1000;
    CHECK(find(h.feed(position(2)), "ais-2", "online"));
    CHECK(h.counter("ais_vessels_forgotten") == 2);
    CHECK_FALSE(find(h.feed(position(3)), "ais-3", "online"));
}

TEST_CASE("ais driver: a vessel silent for offline_after_silence goes offline, and back online", "[ais]") {
    Harness h("devices: [{name: gps, offline_after_silence: 10s}]");
    auto rs = h.feed(position(7));
    const Reading* on = find(rs, "ais-7", "online");
    REQUIRE(on);
    CHECK(std::get<bool>(on->value));
    REQUIRE(h.wake);
    CHECK(*h.wake == SteadyTime(std::chrono::milliseconds(10'000)));
    h.steady_ms = 4000;
    h.feed(position(8));
    CHECK(*h.wake == SteadyTime(std::chrono::milliseconds(10'000)));  // 7 is still the first to fall silent
    h.steady_ms = 10'000;
    rs = h.timer();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].device == "ais-7");
    CHECK(rs[0].metric == "online");
    CHECK_FALSE(std::get<bool>(rs[0].value));
    REQUIRE(h.wake);
    CHECK(*h.wake == SteadyTime(std::chrono::milliseconds(14'000)));
    h.steady_ms = 12'000;
    CHECK(h.timer().empty());
    rs = h.feed(position(7));
    CHECK(std::get<bool>(find(rs, "ais-7", "online")->value));
    h.steady_ms = 14'000;
    rs = h.timer();
    REQUIRE(rs.size() == 1);
    CHECK(rs[0].device == "ais-8");

    // Without offline_after_silence there are no online readings and no timer.
    Harness quiet("{}");
    CHECK_FALSE(find(quiet.feed(position(7)), "ais-7", "online"));
    CHECK_FALSE(quiet.wake);
}

TEST_CASE("ais vessels: the table alone", "[ais]") {
    using namespace std::chrono;
    nmea::ais::VesselTable t(3, milliseconds(100));
    auto at = [](int ms) { return SteadyTime(milliseconds(ms)); };
    CHECK(t.heard(1, at(0)));
    CHECK(t.heard(2, at(10)));
    CHECK_FALSE(t.heard(1, at(20)));
    CHECK(t.heard(3, at(30)));
    CHECK(t.expire(at(109)).empty());
    CHECK(t.expire(at(110)) == std::vector<std::uint32_t>{2});
    CHECK(t.expire(at(200)) == std::vector<std::uint32_t>{1, 3});
    CHECK(t.expire(at(300)).empty());  // each once
    CHECK_FALSE(t.next_expiry());
    CHECK(t.heard(4, at(300)));  // full: the least recently heard (2, offline) goes
    CHECK(t.forgotten() == 1);
    CHECK(t.size() == 3);
    CHECK(t.heard(2, at(310)));  // new again; 1 (heard at 20) goes, 3 (heard at 30) stays
    CHECK(t.forgotten() == 2);
    CHECK(t.heard(3, at(320)));  // back online, nobody forgotten
    CHECK(t.forgotten() == 2);
    CHECK(t.heard(1, at(330)));  // new again
    CHECK(t.forgotten() == 3);
}

TEST_CASE("ais driver: the docs list every AIS metric, setting and counter", "[ais]") {
    std::ifstream in(LOOPGATE_SOURCE_DIR "/drivers/nmea0183/README.md");
    REQUIRE(in.good());
    std::stringstream text;
    text << in.rdbuf();
    const std::string doc = text.str();
    for (const auto& name : nmea::ais::ais_metric_names()) {
        INFO("metric " << name);
        CHECK(doc.find("| `" + name + "` |") != std::string::npos);
    }
    for (const char* counter : {"ais_sentences", "ais_messages", "ais_incomplete", "ais_other_type_N", "ais_bad_fragment",
                                "ais_bad_payload", "ais_bad_length", "ais_vessels_forgotten", "ais_ignored"}) {
        INFO("counter " << counter);
        CHECK(doc.find(std::string("| `") + counter + "` |") != std::string::npos);
    }
    CHECK(doc.find("| `ais.max_vessels` |") != std::string::npos);
}
