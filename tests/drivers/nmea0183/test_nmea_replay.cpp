// Replays the recorded NMEA captures (../shared/fixtures/nmea) through the whole driver and, where
// gpsd's decoded output (.chk) sits beside a capture, compares our fixes with gpsd's.
#include <catch2/catch.hpp>

#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "core/topic_name.hpp"
#include "drivers/nmea0183/nmea_driver.hpp"
#include "tests/drivers/nmea0183/gpsd_json.hpp"

using namespace loopgate;

namespace {

const std::string fixtures = LOOPGATE_FIXTURES_DIR "/nmea/";

bool is_sentence(const std::string& line) { return !line.empty() && (line[0] == '$' || line[0] == '!'); }

std::unique_ptr<Driver> make_default_driver() {
    DriverSpec spec;
    spec.port.name = "gps";
    return make_nmea_driver(spec);
}

DriverClock at(std::int64_t ms) {
    return {SteadyTime(std::chrono::milliseconds(ms)), 1'700'000'000'000'000'000 + ms * 1'000'000};
}

// Half a unit in the last printed digit: gpsd rounds what it prints.
double printed_tolerance(const std::string& number) {
    std::size_t dot = number.find('.');
    int decimals = dot == std::string::npos ? 0 : static_cast<int>(number.size() - dot - 1);
    return 0.5 * std::pow(10.0, -decimals) + 1e-9;
}

// "2014-12-31T03:07:19.000Z" to Unix nanoseconds, with the C library rather than the code under test.
std::int64_t iso_to_ns(const std::string& iso) {
    std::tm tm{};
    std::istringstream in(iso);
    in >> std::get_time(&tm, "%Y-%m-%dT%H:%M:%S");
    REQUIRE_FALSE(in.fail());
    std::int64_t ns = static_cast<std::int64_t>(timegm(&tm)) * 1'000'000'000;
    std::size_t dot = iso.find('.');
    if (dot != std::string::npos) {
        std::int64_t scale = 100'000'000;
        for (std::size_t i = dot + 1; i < iso.size() && std::isdigit(static_cast<unsigned char>(iso[i])); ++i) {
            ns += (iso[i] - '0') * scale;
            scale /= 10;
        }
    }
    return ns;
}

double as_double(const Value& v) {
    if (auto d = std::get_if<double>(&v)) return *d;
    if (auto i = std::get_if<std::int64_t>(&v)) return static_cast<double>(*i);
    return std::nan("");
}

struct Comparison {
    std::size_t tpv_with_fix = 0;   // TPV reports carrying at least one of the compared fields
    std::size_t matched = 0;        // ... of which we had readings to compare with
    std::size_t timed = 0;          // ... of which carry a time
    std::size_t timed_matched = 0;  // ... and matched readings with exactly that source time
    std::size_t values_compared = 0;
    std::map<std::string, std::size_t> per_field;
    std::vector<std::string> mismatches;
};

struct FieldMap {
    const char* json;
    const char* metric;
    bool degrees;  // compared to 1e-7 degrees rather than printed precision
};
const FieldMap compared_fields[] = {
    {"lat", "latitude", true}, {"lon", "longitude", true}, {"altMSL", "altitude", false},
    {"speed", "speed", false}, {"track", "track", false},
};

// Feeds the sentences of the .chk (the same capture, with gpsd's reports interleaved) and compares
// every TPV report with our readings:
//  - a TPV with a time is matched by fix time: every reading of the field with exactly that source
//    time must agree (this checks date handling and the time itself, to the millisecond);
//  - a TPV without time (gpsd had no date yet, or the capture has none) is matched with the latest
//    reading of each field, which is the sentence that just made gpsd report.
Comparison compare_with_gpsd(const std::string& chk_path) {
    auto driver = make_default_driver();
    std::map<std::pair<std::string, std::int64_t>, std::vector<double>> by_time;
    std::map<std::string, double> latest;
    Comparison c;
    std::int64_t ms = 0;
    for (const std::string& line : gpsd_json::lines(chk_path)) {
        if (is_sentence(line)) {
            DriverOutput out;
            std::string wire = line + "\r\n";
            driver->on_bytes(std::span(reinterpret_cast<const std::uint8_t*>(wire.data()), wire.size()), at(ms += 10),
                             out);
            for (const Reading& r : out.readings) {
                double v = as_double(r.value);
                if (std::isnan(v)) continue;
                latest[r.metric] = v;
                if (r.source_time_ns) by_time[{r.metric, *r.source_time_ns}].push_back(v);
            }
            continue;
        }
        if (gpsd_json::raw(line, "class") != std::optional<std::string>("TPV")) continue;
        auto time = gpsd_json::raw(line, "time");
        bool any_field = false, compared = false;
        for (const FieldMap& f : compared_fields) {
            auto raw = gpsd_json::raw(line, f.json);
            if (!raw && std::string(f.json) == "altMSL") raw = gpsd_json::raw(line, "alt");
            if (!raw) continue;
            any_field = true;
            const double expected = std::stod(*raw);
            const double tol = f.degrees ? 1e-7 : printed_tolerance(*raw);
            std::vector<double> ours;
            if (time) {
                auto it = by_time.find({f.metric, iso_to_ns(*time)});
                if (it != by_time.end()) ours = it->second;
            } else if (latest.count(f.metric)) {
                ours.push_back(latest[f.metric]);
            }
            for (double v : ours) {
                ++c.values_compared;
                ++c.per_field[f.metric];
                compared = true;
                if (std::fabs(v - expected) > tol) {
                    std::ostringstream m;
                    m.precision(12);
                    m << f.metric << " ours " << v << " gpsd " << *raw << " in " << line;
                    c.mismatches.push_back(m.str());
                }
            }
        }
        if (any_field) ++c.tpv_with_fix;
        if (compared) ++c.matched;
        if (any_field && time) ++c.timed;
        if (compared && time) ++c.timed_matched;
    }
    return c;
}

std::vector<std::string> captures() {
    std::vector<std::string> out;
    for (const auto& e : std::filesystem::directory_iterator(fixtures))
        if (e.path().extension() == ".log") out.push_back(e.path().filename().string());
    std::sort(out.begin(), out.end());
    return out;
}

}  // namespace

namespace {

struct Replay {
    std::vector<Reading> readings;
    Counters counters;
};

// Feeds the capture's sentences (comment lines are gpsd's file metadata, not wire data) as the
// receiver sent them, CR LF terminated, in chunks of `chunk` bytes (0: all at once).
Replay replay(const std::vector<std::string>& sentences, std::size_t chunk) {
    std::string wire;
    for (const auto& s : sentences) wire += s + "\r\n";
    auto driver = make_default_driver();
    Replay r;
    std::size_t pos = 0;
    std::int64_t ms = 0;
    while (pos < wire.size()) {
        std::size_t n = chunk == 0 ? wire.size() : std::min(chunk + pos % 5, wire.size() - pos);
        DriverOutput out;
        driver->on_bytes(std::span(reinterpret_cast<const std::uint8_t*>(wire.data() + pos), n), at(ms += 10), out);
        for (Reading& reading : out.readings) {
            CHECK(reading.receive_time_ns == at(ms).wall_ns);
            r.readings.push_back(std::move(reading));
        }
        pos += n;
    }
    r.counters = driver->counters();
    return r;
}

std::vector<std::string> capture_sentences(const std::string& name) {
    std::vector<std::string> out;
    for (const std::string& line : gpsd_json::lines(fixtures + name))
        if (!line.empty() && line[0] != '#') out.push_back(line);
    return out;
}

// Real defects in the captures, checked by hand: garmin48.log line 84 ends "*7", a sentence whose
// last byte was lost (gpsd drops it too and does not echo it in the .chk).
std::uint64_t known_truncated(const std::string& name) { return name == "garmin48.log" ? 1 : 0; }

}  // namespace

TEST_CASE("nmea replay: every capture decodes cleanly, in any chunking", "[nmea][fixtures]") {
    const auto names = captures();
    REQUIRE(names.size() >= 12);
    for (const std::string& name : names) {
        INFO("capture " << name);
        const auto sentences = capture_sentences(name);
        REQUIRE(sentences.size() > 10);
        for (const auto& s : sentences) REQUIRE(is_sentence(s));

        Replay whole = replay(sentences, 0);
        const Counters& c = whole.counters;
        // Every line of a real capture is one well-formed sentence: nothing is garbage or broken.
        CHECK(c.at("sentences") == sentences.size() - known_truncated(name));
        CHECK(c.at("truncated") == known_truncated(name));
        CHECK(c.at("bad_checksum") == 0);
        CHECK(c.at("missing_checksum") == 0);
        CHECK(c.at("malformed") == 0);
        CHECK(c.at("garbage_bytes") == 0);
        CHECK(c.at("overlong") == 0);
        CHECK(c.at("decoded") + c.at("unknown_sentence") + c.at("proprietary") == c.at("sentences"));
        CHECK(c.at("decoded") > c.at("unknown_sentence"));
        CHECK(c.at("field_errors") == 0);
        CHECK(c.at("decimated") == 0);
        REQUIRE(!whole.readings.empty());
        for (const Reading& r : whole.readings) {
            CHECK(r.device == "gps");
            CHECK(topic_name_problem(r.metric).empty());
            if (auto d = std::get_if<double>(&r.value)) CHECK(std::isfinite(*d));
        }

        // Framing must not depend on how the bytes were split by the serial port.
        Replay chunked = replay(sentences, 1 + name.size() % 7);
        REQUIRE(chunked.readings.size() == whole.readings.size());
        for (std::size_t i = 0; i < whole.readings.size(); ++i) {
            CHECK(chunked.readings[i].metric == whole.readings[i].metric);
            CHECK(chunked.readings[i].value == whole.readings[i].value);
            CHECK(chunked.readings[i].source_time_ns == whole.readings[i].source_time_ns);
            CHECK(chunked.readings[i].quality == whole.readings[i].quality);
        }
        CHECK(chunked.counters == whole.counters);
    }
}

TEST_CASE("nmea replay: fixes agree with gpsd", "[nmea][fixtures]") {
    std::size_t compared_files = 0;
    for (const std::string& name : captures()) {
        const std::string chk = fixtures + name + ".chk";
        if (!std::filesystem::exists(chk)) continue;
        INFO("capture " << name);
        // The .chk echoes the capture's sentences with gpsd's reports after each: same input.
        std::vector<std::string> echoed;
        for (const std::string& line : gpsd_json::lines(chk))
            if (is_sentence(line)) echoed.push_back(line);
        std::vector<std::string> sent = capture_sentences(name);
        REQUIRE(echoed.size() + known_truncated(name) == sent.size());
        // ... and in the same order: the echo is the capture minus the broken sentences.
        for (std::size_t i = 0, j = 0; i < echoed.size(); ++i, ++j) {
            while (j < sent.size() && sent[j] != echoed[i]) ++j;
            REQUIRE(j < sent.size());
        }

        Comparison c = compare_with_gpsd(chk);
        for (const auto& m : c.mismatches) FAIL_CHECK(m);
        CHECK(c.mismatches.empty());
        REQUIRE(c.tpv_with_fix > 0);
        CHECK(c.per_field["latitude"] > 0);
        CHECK(c.per_field["longitude"] > 0);
        // A substantial fraction of gpsd's fixes must find our readings (in practice: all of them).
        CHECK(c.matched * 10 >= c.tpv_with_fix * 9);
        if (name == "sounder.log") {
            // The sounder capture has no RMC or ZDA, so there is no date: gpsd reports no time and
            // we leave source_time_ns empty. Its fixes are matched by stream position only.
            CHECK(c.timed == 0);
        } else {
            REQUIRE(c.timed > 0);
            CHECK(c.timed_matched * 10 >= c.timed * 9);
        }
        ++compared_files;
    }
    CHECK(compared_files >= 12);
}
