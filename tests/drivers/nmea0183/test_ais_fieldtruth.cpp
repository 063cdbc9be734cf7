// Every AIS message gpsd decodes in the public captures of ../shared/fieldtruth/gpsd-ais (gpsd's
// daemon output, unscaled) must come out of the nmea0183 driver with the same values, in the gateway's
// units; and where gpsd decodes nothing, neither may the driver. The files are read at test time.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>

#include "drivers/nmea0183/nmea_driver.hpp"
#include "tests/drivers/nmea0183/gpsd_json.hpp"

using namespace loopgate;

namespace {

const std::string truth_dir = LOOPGATE_FIELDTRUTH_DIR "/gpsd-ais/";
constexpr double knot = 1852.0 / 3600.0;
const std::set<long long> decoded_types = {1, 2, 3, 4, 5, 18, 19, 21, 24, 27};

std::vector<std::string> captures() {
    std::vector<std::string> names;
    for (const auto& e : std::filesystem::directory_iterator(truth_dir)) {
        const std::string name = e.path().filename().string();
        if (name.size() > 4 && name.ends_with(".log") && std::filesystem::exists(e.path().string() + ".chk"))
            names.push_back(name);
    }
    std::sort(names.begin(), names.end());
    return names;
}

// One message's readings, by metric, as the driver made them.
struct Decoded {
    std::map<std::string, Reading> by_metric;
    bool has(const std::string& m) const { return by_metric.count(m) != 0; }
    double number(const std::string& m) const {
        INFO("metric " << m);
        REQUIRE(has(m));
        const Value& v = by_metric.at(m).value;
        if (const auto* d = std::get_if<double>(&v)) return *d;
        return static_cast<double>(std::get<std::int64_t>(v));
    }
};

class Comparison {
public:
    // gpsd's report `json` of the message whose readings are `mine`.
    void check(const std::string& json, const std::vector<Reading>& mine) {
        const long long type = *gpsd_json::integer(json, "type");
        const long long mmsi = *gpsd_json::integer(json, "mmsi");
        INFO("gpsd: " << json);
        REQUIRE(gpsd_json::raw(json, "scaled") == std::optional<std::string>("false"));
        if (!decoded_types.count(type)) {
            ++other_[type];
            CHECK(mine.empty());
            return;
        }
        ++decoded_;
        const std::string device = "ais-" + std::to_string(mmsi);
        Decoded d;
        for (const Reading& r : mine) {
            CHECK(r.device == device);
            d.by_metric[r.metric] = r;
        }
        REQUIRE_FALSE(mine.empty());
        CHECK(d.number("message_type") == type);

        const bool long_range = type == 27;
        const double per_degree = long_range ? 600.0 : 600000.0;
        auto position = [&](const char* key, const char* metric, int not_available_degrees) {
            auto raw = gpsd_json::integer(json, key);
            if (!raw) return;
            if (*raw == not_available_degrees * per_degree || std::abs(*raw) > (not_available_degrees - 1) * per_degree) {
                CHECK_FALSE(d.has(metric));
            } else {
                ++positions_;
                CHECK(d.number(metric) == Approx(*raw / per_degree).margin(1e-6));
            }
        };
        position("lat", "latitude", 91);
        position("lon", "longitude", 181);

        if (auto speed = gpsd_json::integer(json, "speed")) {
            if (*speed == (long_range ? 63 : 1023)) CHECK_FALSE(d.has("speed_over_ground"));
            else CHECK(d.number("speed_over_ground") == Approx((long_range ? *speed : *speed / 10.0) * knot).margin(1e-9));
        }
        if (auto course = gpsd_json::integer(json, "course")) {
            if (*course >= (long_range ? 360 : 3600)) CHECK_FALSE(d.has("course_over_ground"));
            else CHECK(d.number("course_over_ground") == Approx(long_range ? *course : *course / 10.0));
        }
        if (auto heading = gpsd_json::integer(json, "heading")) {
            if (*heading >= 360) CHECK_FALSE(d.has("heading"));
            else CHECK(d.number("heading") == *heading);
        }
        if (auto turn = gpsd_json::integer(json, "turn")) {
            if (*turn <= -127 || *turn >= 127) {
                CHECK_FALSE(d.has("rate_of_turn"));
            } else {
                const double rate = (*turn / 4.733) * (*turn / 4.733);
                CHECK(d.number("rate_of_turn") == Approx(*turn < 0 ? -rate : rate));
            }
        }
        if (type != 21) {  // type 21's "status" is the station's, not a navigational status
            if (auto status = gpsd_json::integer(json, "status")) CHECK(d.number("nav_status") == *status);
        }
        if (auto second = gpsd_json::integer(json, "second"); second && *second < 60) {
            REQUIRE(d.by_metric.begin()->second.source_time_ns);
            CHECK(*d.by_metric.begin()->second.source_time_ns / 1'000'000'000 % 60 == *second);
        }

        text(json, d, device, "shipname", "ship_name");
        text(json, d, device, "callsign", "call_sign");
        text(json, d, device, "destination", "destination");
        if (type == 21) {
            text(json, d, device, "name", "name");
            CHECK(d.number("aid_type") == *gpsd_json::integer(json, "aid_type"));
        }
        positive(json, d, "imo", "imo", 1);
        positive(json, d, "shiptype", "ship_type", 1);
        if (type == 5) positive(json, d, "draught", "draught", 10);
        if (type != 21 && gpsd_json::raw(json, "to_bow")) {  // a buoy's size is not published
            const long long length = *gpsd_json::integer(json, "to_bow") + *gpsd_json::integer(json, "to_stern");
            const long long beam = *gpsd_json::integer(json, "to_port") + *gpsd_json::integer(json, "to_starboard");
            if (length > 0) CHECK(d.number("length") == length);
            else CHECK_FALSE(d.has("length"));
            if (beam > 0) CHECK(d.number("beam") == beam);
            else CHECK_FALSE(d.has("beam"));
        }
    }

    // Everything the driver made, also of messages gpsd did not report (type 24 part A).
    void saw(const std::vector<Reading>& mine) {
        for (const Reading& r : mine) latest_[r.device + "/" + r.metric] = r.value;
    }

    std::uint64_t decoded() const { return decoded_; }
    std::uint64_t positions() const { return positions_; }
    std::uint64_t names() const { return names_; }
    const std::map<long long, std::uint64_t>& other() const { return other_; }

private:
    // gpsd merges a type 24 part A's name into the part B that follows; the driver reported it with
    // part A, so a name is checked against the latest the device has.
    void text(const std::string& json, const Decoded& d, const std::string& device, const char* key,
              const char* metric) {
        auto value = gpsd_json::raw(json, key);
        if (!value) return;
        INFO("metric " << metric);
        if (value->empty()) {
            CHECK_FALSE(d.has(metric));
            return;
        }
        ++names_;
        auto it = latest_.find(device + "/" + metric);
        REQUIRE(it != latest_.end());
        CHECK(std::get<std::string>(it->second) == *value);
    }
    void positive(const std::string& json, const Decoded& d, const char* key, const char* metric, double divisor) {
        auto value = gpsd_json::integer(json, key);
        if (!value) return;
        INFO("metric " << metric);
        if (*value == 0) CHECK_FALSE(d.has(metric));
        else CHECK(d.number(metric) == Approx(*value / divisor));
    }

    std::map<std::string, Value> latest_;
    std::map<long long, std::uint64_t> other_;
    std::uint64_t decoded_ = 0;
    std::uint64_t positions_ = 0;
    std::uint64_t names_ = 0;
};

bool is_ais(const std::string& line) {
    return line.size() > 6 && line[0] == '!' && (line.compare(3, 3, "VDM") == 0 || line.compare(3, 3, "VDO") == 0);
}

}  // namespace

TEST_CASE("ais fieldtruth: every message gpsd decodes comes out with gpsd's values", "[ais][fieldtruth]") {
    const auto names = captures();
    REQUIRE(names.size() >= 7);
    std::uint64_t all_positions = 0, all_names = 0;
    for (const std::string& name : names) {
        INFO("capture " << name);
        std::vector<std::string> inputs;
        for (const std::string& l : gpsd_json::lines(truth_dir + name))
            if (!l.empty() && l[0] != '#') inputs.push_back(l);  // gpsfake does not send its header

        DriverSpec spec;
        spec.port.name = "ais";
        std::unique_ptr<Driver> driver = make_nmea_driver(spec);
        Comparison cmp;
        std::vector<Reading> mine;
        bool answered = true;   // gpsd reported the last AIS sentence fed (or it was not one)
        std::size_t fed = 0;
        std::int64_t ms = 0;
        auto settle = [&](const std::string& previous) {
            // Where gpsd made nothing of an AIS sentence (a fragment, a message it rejects), the driver
            // makes nothing either. Except type 24: gpsd's daemon holds a part A back until its part B
            // comes and reports the pair only, while the driver reports each part as it arrives.
            INFO("sentence " << previous);
            const bool type24 = std::any_of(mine.begin(), mine.end(), [](const Reading& r) {
                return r.metric == "message_type" && r.value == Value(std::int64_t{24});
            });
            if (!answered && !type24) CHECK(mine.empty());
        };
        std::string previous;
        for (const std::string& l : gpsd_json::lines(truth_dir + name + ".chk")) {
            if (l.empty()) continue;
            if (l[0] == '{') {
                if (gpsd_json::raw(l, "class") != std::optional<std::string>("AIS")) continue;
                if (!is_ais(previous)) continue;  // gpsd repeats its last AIS report after other sentences
                INFO("sentence " << previous);
                cmp.check(l, mine);
                answered = true;
                continue;
            }
            settle(previous);
            // The .chk echoes the capture's sentences in order: feed them from the capture itself.
            REQUIRE(fed < inputs.size());
            REQUIRE(inputs[fed] == l);
            const std::string bytes = inputs[fed++] + "\r\n";
            DriverOutput out;
            ms += 10;
            driver->on_bytes(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()),
                             {SteadyTime(std::chrono::milliseconds(ms)), 1'700'000'000'000'000'000 + ms * 1'000'000},
                             out);
            mine.clear();
            for (Reading& r : out.readings)
                if (r.device.starts_with("ais-")) mine.push_back(std::move(r));
            cmp.saw(mine);
            previous = l;
            answered = !is_ais(l);
        }
        settle(previous);
        CHECK(fed == inputs.size());

        const Counters counters = driver->counters();
        CHECK(counters.at("ais_messages") >= cmp.decoded());  // type 24 parts gpsd holds back
        for (const auto& [type, n] : cmp.other()) {
            INFO("type " << type);
            auto it = counters.find("ais_other_type_" + std::to_string(type));
            REQUIRE(it != counters.end());
            CHECK(it->second >= n);  // gpsd also drops some of these for their length
        }
        all_positions += cmp.positions();
        all_names += cmp.names();
    }
    // The captures hold thousands of positions and hundreds of names: the comparison must not be empty.
    CHECK(all_positions > 1000);
    CHECK(all_names > 100);
}
