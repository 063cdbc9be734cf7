// The mbus bus master on a fake clock: SND_NKE first, REQ_UD2 with the FCB toggled after each
// answer and kept on a repeat, multi-telegram answers, secondary selection, the idle gap, timeouts,
// retries, offline_after, echoes and noise; and the passive decoder the decode command uses. The
// meters' answers are libmbus's recorded frames (../shared/fieldtruth/libmbus/).

#include <catch2/catch.hpp>

#include <algorithm>
#include <set>

#include "drivers/mbus/mbus_config.hpp"
#include "drivers/mbus/mbus_driver.hpp"
#include "drivers/mbus/mbus_frame.hpp"
#include "drivers/registry.hpp"
#include "mbus_fieldtruth.hpp"

using namespace loopgate;
using namespace std::chrono_literals;
namespace ft = mbus_fieldtruth;

namespace {

// Kamstrup Multical 601 at primary address 17 (11h), identification 06855817.
std::vector<std::uint8_t> kamstrup() { return ft::frame_bytes(ft::dir() / "test-frames" / "kamstrup_multical_601.hex"); }

// A telegram of identification 12345678 at `address` holding one energy record of `kwh` kWh, with
// DIF 1Fh ("more records follow") at the end when `more`.
std::vector<std::uint8_t> telegram(std::uint8_t address, int kwh, bool more) {
    std::vector<std::uint8_t> data = hex("78 56 34 12 43 04 01 04 2A 00 00 00 04 06");
    for (int i = 0; i < 4; ++i) data.push_back(static_cast<std::uint8_t>(kwh >> (8 * i)));
    if (more) data.push_back(0x1F);
    return mbus::build_long(mbus::kRspUd, address, 0x72, data);
}

struct Bench {
    std::unique_ptr<Driver> driver;
    SteadyTime now = SteadyTime{} + std::chrono::hours(1);
    std::int64_t wall = 1'700'000'000'000'000'000;
    std::optional<SteadyTime> wake;
    std::vector<std::vector<std::uint8_t>> sent;
    std::vector<Reading> readings;

    explicit Bench(const std::string& yaml, unsigned baud = 2400) {
        ConfigNode root = ConfigNode::load_string(yaml, "port.yaml");
        DriverSpec spec{PortInfo{"mbus", baud, 8, true, 1}, root["settings"], root["devices"]};
        ConfigNode name(YAML::Node("mbus"), "port.yaml", "driver");
        driver = make_driver(name, spec);
    }
    DriverClock clock() const { return {now, wall}; }
    void take(DriverOutput& o) {
        if (!o.to_write.empty()) sent.push_back(o.to_write);
        for (auto& r : o.readings) readings.push_back(r);
        wake = o.wake_at;
    }
    void open() {
        DriverOutput o;
        driver->on_open(clock(), o);
        take(o);
    }
    void feed(const std::vector<std::uint8_t>& bytes) {
        DriverOutput o;
        driver->on_bytes(bytes, clock(), o);
        take(o);
    }
    void run_until(SteadyTime t) {
        while (wake && *wake <= t) {
            now = std::max(now, *wake);
            DriverOutput o;
            driver->on_timer(clock(), o);
            take(o);
        }
        now = std::max(now, t);
    }
    // The next request the master puts on the line within `within`; fails the test if none.
    std::vector<std::uint8_t> next_request(std::chrono::nanoseconds within = 5s) {
        std::size_t before = sent.size();
        SteadyTime limit = now + within;
        while (sent.size() == before && wake && *wake <= limit) run_until(*wake);
        REQUIRE(sent.size() > before);
        return sent.back();
    }
    // Answers after the slave's turnaround (a few ms).
    void answer(const std::vector<std::uint8_t>& bytes) {
        now += 20ms;
        feed(bytes);
    }
    std::uint64_t counter(const std::string& name) { return driver->counters().at(name); }
    const Reading* find(const std::string& device, const std::string& metric) const {
        for (auto it = readings.rbegin(); it != readings.rend(); ++it)
            if (it->device == device && it->metric == metric) return &*it;
        return nullptr;
    }
};

const auto kNke17 = hex("10 40 11 51 16");
const auto kReq17Fcb1 = hex("10 7B 11 8C 16");
const auto kReq17Fcb0 = hex("10 5B 11 6C 16");

const char* kOneMeter = R"(
settings: {retries: 1, offline_after: 2}
devices:
  - {address: 17, poll_interval: 1min}
)";

}  // namespace

TEST_CASE("mbus driver: SND_NKE first, then REQ_UD2 with FCB 1, readings named after the meter's id", "[mbus]") {
    Bench b(kOneMeter);
    b.open();
    CHECK(b.sent.empty());  // the line gets one idle gap before the master speaks
    CHECK(b.next_request() == kNke17);
    b.answer(hex("E5"));
    CHECK(b.next_request() == kReq17Fcb1);
    b.answer(kamstrup());
    const Reading* energy = b.find("mbus-06855817", "energy");
    REQUIRE(energy);
    CHECK(std::get<double>(energy->value) == Approx(37351000.0));
    CHECK(energy->unit == "Wh");
    REQUIRE(b.find("mbus-06855817", "flow_temperature"));
    CHECK(b.find("mbus-06855817", "flow_temperature")->unit == "degC");
    REQUIRE(b.find("mbus-06855817", "online"));
    CHECK(std::get<bool>(b.find("mbus-06855817", "online")->value));
    CHECK(b.counter("telegrams_ok") == 1);
    auto names = b.driver->device_names();
    CHECK(std::find(names.begin(), names.end(), "mbus-06855817") != names.end());
}

TEST_CASE("mbus driver: the FCB toggles after each answered REQ_UD2 and stays on a repeat", "[mbus]") {
    Bench b(kOneMeter);
    b.open();
    b.next_request();
    b.answer(hex("E5"));
    CHECK(b.next_request() == kReq17Fcb1);
    b.answer(kamstrup());
    // The next poll, one interval later: no SND_NKE, the FCB toggled.
    CHECK(b.next_request(2min) == kReq17Fcb0);
    // No answer: the repeat keeps the FCB, so the meter sends its last telegram again.
    CHECK(b.next_request() == kReq17Fcb0);
    CHECK(b.counter("timeouts") == 1);
    CHECK(b.counter("retries") == 1);
    b.answer(kamstrup());
    CHECK(b.next_request(2min) == kReq17Fcb1);
}

TEST_CASE("mbus driver: the master waits for the answer window and the idle gap before speaking", "[mbus]") {
    Bench b(kOneMeter);
    b.open();
    SteadyTime opened = b.now;
    b.next_request();
    // 11 bit times at 2400 baud: 4.58 ms.
    CHECK(b.now - opened >= 4500us);
    CHECK(b.now - opened < 5ms);
    SteadyTime nke_sent = b.now;
    // No answer: the repeat comes after 5 characters on the wire, 330 bit times + 50 ms and the slack.
    auto again = b.next_request(2s);
    CHECK(again == kNke17);
    CHECK(b.now - nke_sent >= 5 * 4583us + 187ms);
    // An answer stops the clock; the next request waits the idle gap after its last byte.
    b.answer(hex("E5"));
    SteadyTime answered = b.now;
    b.next_request();
    CHECK(b.now - answered >= 4500us);
}

TEST_CASE("mbus driver: a meter that stops answering goes offline after offline_after polls, and back", "[mbus]") {
    Bench b(kOneMeter);
    b.open();
    b.next_request();
    b.answer(hex("E5"));
    b.next_request();
    b.answer(kamstrup());
    b.readings.clear();
    // Poll 1: REQ_UD2, one retry, both unanswered. Poll 2 starts over with SND_NKE.
    b.next_request(2min);
    b.next_request();
    CHECK(b.next_request(2min) == kNke17);
    CHECK(b.next_request() == kNke17);
    b.run_until(b.now + 2s);
    const Reading* online = b.find("mbus-06855817", "online");
    REQUIRE(online);
    CHECK_FALSE(std::get<bool>(online->value));
    CHECK(b.counter("devices_offline") == 1);
    // Offline: one try per poll.
    CHECK(b.next_request(2min) == kNke17);
    b.answer(hex("E5"));
    b.next_request();
    b.answer(kamstrup());
    CHECK(std::get<bool>(b.find("mbus-06855817", "online")->value));
    CHECK(b.counter("devices_online") == 1);
}

TEST_CASE("mbus driver: a multi-telegram answer is read up to max_telegrams, the next poll starts over", "[mbus]") {
    Bench b(R"(
devices:
  - {address: 5, poll_interval: 1min, max_telegrams: 2, name: heat}
)");
    b.open();
    CHECK(b.next_request() == hex("10 40 05 45 16"));
    b.answer(hex("E5"));
    CHECK(b.next_request() == hex("10 7B 05 80 16"));
    b.answer(telegram(5, 100, true));
    CHECK(b.next_request() == hex("10 5B 05 60 16"));  // the next telegram: FCB toggled
    b.answer(telegram(5, 200, true));
    b.run_until(b.now + 5s);
    CHECK(b.sent.size() == 3);  // no third REQ_UD2: max_telegrams is 2
    CHECK(b.counter("telegrams_capped") == 1);
    CHECK(b.counter("telegrams_ok") == 2);
    REQUIRE(b.find("heat", "energy"));
    CHECK(std::get<double>(b.find("heat", "energy")->value) == 200000.0);
    // The readout was cut short: the next poll resets the meter to its first telegram.
    CHECK(b.next_request(2min) == hex("10 40 05 45 16"));
}

TEST_CASE("mbus driver: a meter selected by secondary address", "[mbus]") {
    Bench b(R"(
devices:
  - {secondary: "12345678", poll_interval: 1min}
)");
    b.open();
    const auto select = hex("68 0B 0B 68 53 FD 52 78 56 34 12 FF FF FF FF B2 16");
    CHECK(b.next_request() == select);
    b.answer(hex("E5"));
    CHECK(b.next_request() == hex("10 40 FD 3D 16"));
    b.answer(hex("E5"));
    CHECK(b.next_request() == select);
    b.answer(hex("E5"));
    CHECK(b.next_request() == hex("10 7B FD 78 16"));
    b.answer(telegram(0, 7, false));
    REQUIRE(b.find("mbus-12345678", "energy"));
    // Another meter answering the selection is not taken for this one.
    CHECK(b.next_request(2min) == select);
    b.answer(hex("E5"));
    b.next_request();
    auto other = mbus::build_long(mbus::kRspUd, 0, 0x72, hex("11 11 11 11 43 04 01 04 2A 00 00 00"));
    b.answer(other);
    CHECK(b.counter("wrong_meter") == 1);
}

TEST_CASE("mbus driver: echoes, noise and malformed telegrams", "[mbus]") {
    Bench b(kOneMeter);
    b.open();
    b.next_request();
    // A level converter that echoes: our own request, then the meter's E5.
    b.answer(kNke17);
    b.feed(hex("E5"));
    CHECK(b.counter("echo_bytes") == 5);
    auto req = b.next_request();
    // Noise before the answer is skipped.
    b.answer(hex("00 FF"));
    b.feed(kamstrup());
    CHECK(b.counter("telegrams_ok") == 1);
    CHECK(b.counter("noise_bytes") == 2);
    // A telegram whose record is cut short (checksum fixed up) gives no reading, is counted, and retried.
    b.readings.clear();
    CHECK(b.next_request(2min) == kReq17Fcb0);
    auto bad = mbus::build_long(mbus::kRspUd, 17, 0x72, hex("17 58 85 06 2D 2C 08 04 04 00 00 00 04 06 E7 91"));
    b.answer(bad);
    CHECK(b.counter("malformed_telegrams") == 1);
    CHECK(b.readings.empty());
    CHECK(b.next_request() == kReq17Fcb0);
    // A bad checksum is not a frame.
    auto corrupt = kamstrup();
    corrupt[corrupt.size() - 2] ^= 0x01;
    b.answer(corrupt);
    b.run_until(b.now + 1s);
    CHECK(b.counter("bad_frames") >= 1);
    CHECK(b.readings.empty());
    (void)req;
}

TEST_CASE("mbus driver: config errors name the setting", "[mbus]") {
    auto error_of = [](const std::string& yaml, unsigned baud = 2400) {
        try {
            Bench b(yaml, baud);
        } catch (const std::exception& e) {
            return std::string(e.what());
        }
        return std::string();
    };
    CHECK_THAT(error_of("devices: [{address: 1, poll_interval: 1s}]"), Catch::Contains("poll_interval must be between"));
    CHECK_THAT(error_of("devices: [{address: 251}]"), Catch::Contains("address"));
    CHECK_THAT(error_of("devices: [{secondary: \"1234\"}]"), Catch::Contains("8-digit"));
    CHECK_THAT(error_of("devices: [{address: 1, secondary: \"12345678\"}]"), Catch::Contains("either address"));
    CHECK_THAT(error_of("devices: [{address: 1}, {address: 1}]"), Catch::Contains("already used"));
    CHECK_THAT(error_of("devices: [{address: 1}]", 115200), Catch::Contains("300 to 38400 baud"));
    CHECK_THAT(error_of("settings: {response_timeout: 10ms}\ndevices: [{address: 1}]"), Catch::Contains("330 bit times"));
    CHECK(error_of("devices: [{address: 1}]").empty());  // 15 min by default
    CHECK(error_of("devices: [{address: 1, poll_interval: 30s, max_telegrams: 2}]").empty());
}

TEST_CASE("mbus driver: points pick and rename records by VIF, storage, tariff and subunit", "[mbus]") {
    Bench b(R"(
devices:
  - address: 17
    name: flat-3
    poll_interval: 1min
    points:
      - {vif: energy, name: heat_energy}
      - {vif: energy, storage: 1}
      - {vif: flow_temperature}
)");
    b.open();
    b.next_request();
    b.answer(hex("E5"));
    b.next_request();
    b.answer(kamstrup());
    std::set<std::string> metrics;
    for (const Reading& r : b.readings) metrics.insert(r.metric);
    CHECK(metrics == std::set<std::string>{"online", "heat_energy", "energy_s1", "flow_temperature"});
    CHECK(b.readings.front().device == "flat-3");
}

TEST_CASE("mbus driver: fed a capture, it decodes every RSP_UD between requests, acks and noise", "[mbus]") {
    ConfigNode none;
    ConfigNode name(YAML::Node("mbus"), "(command line)", "--driver");
    auto driver = make_driver(name, DriverSpec{PortInfo{"mbus", 2400, 8, true, 1}, none, none});
    std::vector<std::uint8_t> capture = hex("10 40 11 51 16 E5 10 7B 11 8C 16");
    auto k = kamstrup();
    capture.insert(capture.end(), k.begin(), k.end());
    capture.push_back(0x00);  // noise
    for (const char* f : {"landis+gyr_ultraheat_t230", "ELS_Elster-F96-Plus"}) {
        auto bytes = ft::frame_bytes(ft::dir() / "test-frames" / (std::string(f) + ".hex"));
        capture.insert(capture.end(), bytes.begin(), bytes.end());
    }
    DriverOutput out;
    // In pieces, as a pipe delivers them.
    for (std::size_t at = 0; at < capture.size(); at += 7) {
        std::size_t n = std::min<std::size_t>(7, capture.size() - at);
        driver->on_bytes(std::span(capture).subspan(at, n), {SteadyTime{}, 0}, out);
    }
    std::set<std::string> devices;
    for (const Reading& r : out.readings) devices.insert(r.device);
    CHECK(devices == std::set<std::string>{"mbus-06855817", "mbus-66660205", "mbus-44493951"});
    auto c = driver->counters();
    CHECK(c.at("telegrams_ok") == 3);
    CHECK(c.at("echo_bytes") == 10);
    CHECK(c.at("noise_bytes") == 1);
    // The Elster's BCD error fill: bad quality, not a number.
    auto bad = std::find_if(out.readings.begin(), out.readings.end(),
                            [](const Reading& r) { return r.device == "mbus-44493951" && r.metric == "power_at_error"; });
    REQUIRE(bad != out.readings.end());
    CHECK(bad->quality == Quality::bad);
}
