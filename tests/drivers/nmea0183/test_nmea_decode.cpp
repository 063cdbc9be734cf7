// Sentence -> readings, table-driven, with hand-checked values from the NMEA standard's examples
// and well-known receiver output.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <string>
#include <vector>

#include "drivers/nmea0183/nmea_decode.hpp"
#include "drivers/nmea0183/nmea_gsv.hpp"
#include "drivers/nmea0183/nmea_sentence.hpp"

using namespace loopgate;
using namespace loopgate::nmea;

namespace {

constexpr double kn = 1852.0 / 3600.0;
constexpr std::int64_t s_ns = 1'000'000'000;

// Appends "*hh" (computed here, independently of the code under test) when the text has none.
std::string with_checksum(std::string text) {
    if (text.find('*') != std::string::npos) return text;
    unsigned sum = 0;
    for (std::size_t i = 1; i < text.size(); ++i) sum ^= static_cast<unsigned char>(text[i]);
    static const char* hex = "0123456789ABCDEF";
    return text + "*" + hex[sum >> 4] + hex[sum & 15];
}

struct Expect {
    std::string metric;
    Value value;
    std::string unit;
    Quality quality = Quality::good;
    std::string reason = "";
};

struct Case {
    std::string name;
    std::string text;
    std::vector<Expect> expected;
    std::optional<std::int64_t> time_of_day_ns = std::nullopt;
    std::optional<std::int64_t> day = std::nullopt;  // days since 1970-01-01
    DecodeOptions options = {};
};

Decoded decode(const std::string& text, std::string& storage, DecodeOptions options = {}) {
    storage = with_checksum(text);
    ParsedSentence p = parse_sentence(storage, false);
    REQUIRE(p.status == SentenceStatus::ok);
    return decode_sentence(p.sentence, options);
}

std::int64_t hms(int h, int m, double s) {
    return (h * 3600 + m * 60) * s_ns + static_cast<std::int64_t>(std::llround(s * 1e9));
}

void check_case(const Case& c) {
    INFO(c.name << ": " << c.text);
    std::string storage;
    Decoded d = decode(c.text, storage, c.options);
    CHECK(d.known);
    CHECK(d.field_errors == 0);
    CHECK(d.time_of_day_ns == c.time_of_day_ns);
    CHECK(d.day == c.day);
    std::vector<std::string> got_metrics, want_metrics;
    for (const auto& r : d.readings) got_metrics.push_back(r.metric);
    for (const auto& e : c.expected) want_metrics.push_back(e.metric);
    REQUIRE(got_metrics == want_metrics);  // exactly these, in this order: empty fields give nothing
    for (std::size_t i = 0; i < c.expected.size(); ++i) {
        const Expect& e = c.expected[i];
        const Reading& r = d.readings[i];
        INFO("metric " << e.metric);
        REQUIRE(r.value.index() == e.value.index());
        if (auto want = std::get_if<double>(&e.value)) CHECK(std::get<double>(r.value) == Approx(*want).epsilon(1e-12));
        else CHECK(r.value == e.value);
        CHECK(r.unit == e.unit);
        CHECK(r.quality == e.quality);
        CHECK(r.quality_reason == e.reason);
        CHECK_FALSE(r.source_time_ns.has_value());  // placing in time is the driver's job
        // Decimation settings are validated against this list; it must know every fixed name.
        const auto& names = static_metric_names();
        CHECK((std::find(names.begin(), names.end(), r.metric) != names.end() || r.metric.starts_with("xdr.")));
    }
}

// Days since 1970-01-01 by the C library, not by the code under test.
std::int64_t day_of(int y, int m, int d) {
    std::tm tm{};
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    return static_cast<std::int64_t>(timegm(&tm)) / 86400;
}

}  // namespace

TEST_CASE("nmea decode: position sentences", "[nmea]") {
    const std::string no_fix = "no fix (GGA fix quality 0)";
    const std::vector<Case> cases = {
        {"GGA, the classic example", "$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47",
         {{"latitude", 48.1173, "deg"}, {"longitude", 11.0 + 31.0 / 60.0, "deg"}, {"fix_quality", std::int64_t{1}, ""},
          {"satellites_used", std::int64_t{8}, "count"}, {"hdop", 0.9, ""}, {"altitude", 545.4, "m"},
          {"geoid_separation", 46.9, "m"}},
         hms(12, 35, 19)},
        {"GGA, all empty (receiver searching)", "$GPGGA,,,,,,0,,,,M,,M,,*66", {{"fix_quality", std::int64_t{0}, ""}}},
        {"GGA, fix quality 0 marks the values bad but not the status",
         "$GPGGA,123519,4807.038,N,01131.000,W,0,00,,,M,,M,,",
         {{"latitude", 48.1173, "deg", Quality::bad, no_fix},
          {"longitude", -(11.0 + 31.0 / 60.0), "deg", Quality::bad, no_fix},
          {"fix_quality", std::int64_t{0}, ""},
          {"satellites_used", std::int64_t{0}, "count"}},
         hms(12, 35, 19)},
        {"GGA, dead reckoning is uncertain; DGPS age and station",
         "$GNGGA,000001.50,0000.000,S,00000.000,E,6,04,9.9,-12.5,M,0,M,7.6,0133",
         {{"latitude", 0.0, "deg", Quality::uncertain, "dead reckoning (GGA fix quality 6)"},
          {"longitude", 0.0, "deg", Quality::uncertain, "dead reckoning (GGA fix quality 6)"},
          {"fix_quality", std::int64_t{6}, ""}, {"satellites_used", std::int64_t{4}, "count"},
          {"hdop", 9.9, "", Quality::uncertain, "dead reckoning (GGA fix quality 6)"},
          {"altitude", -12.5, "m", Quality::uncertain, "dead reckoning (GGA fix quality 6)"},
          {"geoid_separation", 0.0, "m", Quality::uncertain, "dead reckoning (GGA fix quality 6)"},
          {"dgps_age", 7.6, "s", Quality::uncertain, "dead reckoning (GGA fix quality 6)"},
          {"dgps_station", std::int64_t{133}, "", Quality::uncertain, "dead reckoning (GGA fix quality 6)"}},
         hms(0, 0, 1.5)},
        {"RMC, the classic example", "$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,084.4,230394,003.1,W*6A",
         {{"latitude", 48.1173, "deg"}, {"longitude", 11.0 + 31.0 / 60.0, "deg"}, {"speed", 22.4 * kn, "m/s"},
          {"track", 84.4, "deg"}, {"magnetic_variation", -3.1, "deg"}},
         hms(12, 35, 19), day_of(1994, 3, 23)},
        {"RMC with knots asked for", "$GPRMC,123519,A,4807.038,N,01131.000,E,022.4,,230394,,",
         {{"latitude", 48.1173, "deg"}, {"longitude", 11.0 + 31.0 / 60.0, "deg"}, {"speed", 22.4 * kn, "m/s"},
          {"speed_knots", 22.4, "kn"}},
         hms(12, 35, 19), day_of(1994, 3, 23), DecodeOptions{true, false}},
        {"RMC void without position still dates", "$GNRMC,053229.438,V,,,,,,,020315,,,N*56", {},
         hms(5, 32, 29.438), day_of(2015, 3, 2)},
        {"RMC void with a position: bad", "$GPRMC,225446,V,4916.45,N,12311.12,W,000.5,054.7,191194,020.3,E",
         {{"latitude", 49.0 + 16.45 / 60, "deg", Quality::bad, "RMC status V (void)"},
          {"longitude", -(123.0 + 11.12 / 60), "deg", Quality::bad, "RMC status V (void)"},
          {"speed", 0.5 * kn, "m/s", Quality::bad, "RMC status V (void)"},
          {"track", 54.7, "deg", Quality::bad, "RMC status V (void)"},
          {"magnetic_variation", 20.3, "deg", Quality::bad, "RMC status V (void)"}},
         hms(22, 54, 46), day_of(1994, 11, 19)},
        {"RMC two-digit year 79 is 2079, 80 is 1980", "$GPRMC,000000,A,,,,,,,010180,,,A", {}, 0, day_of(1980, 1, 1)},
        {"GLL", "$GPGLL,4916.45,N,12311.12,W,225444,A,*1D",
         {{"latitude", 49.0 + 16.45 / 60, "deg"}, {"longitude", -(123.0 + 11.12 / 60), "deg"}},
         hms(22, 54, 44)},
        {"GLL void", "$GPGLL,4916.45,N,12311.12,W,225444,V,N",
         {{"latitude", 49.0 + 16.45 / 60, "deg", Quality::bad, "GLL status V (void)"},
          {"longitude", -(123.0 + 11.12 / 60), "deg", Quality::bad, "GLL status V (void)"}},
         hms(22, 54, 44)},
        {"GNS, RTK float, three systems", "$GNGNS,014035.00,4332.69262,S,17235.48549,E,RRN,13,0.9,25.63,11.24,,",
         {{"latitude", -(43.0 + 32.69262 / 60), "deg"}, {"longitude", 172.0 + 35.48549 / 60, "deg"},
          {"satellites_used", std::int64_t{13}, "count"}, {"hdop", 0.9, ""}, {"altitude", 25.63, "m"},
          {"geoid_separation", 11.24, "m"}},
         hms(1, 40, 35)},
        {"GNS, no system has a fix", "$GNGNS,053229.438,,,,,NNNN,00,,,0.0,,0000*63",
         {{"satellites_used", std::int64_t{0}, "count"},
          {"geoid_separation", 0.0, "m", Quality::bad, "no fix (GNS mode N)"},
          {"dgps_station", std::int64_t{0}, "", Quality::bad, "no fix (GNS mode N)"}},
         hms(5, 32, 29.438)},
    };
    for (const Case& c : cases) check_case(c);
}

TEST_CASE("nmea decode: course, quality and time sentences", "[nmea]") {
    const std::vector<Case> cases = {
        {"VTG", "$GPVTG,054.7,T,034.4,M,005.5,N,010.2,K*48",
         {{"track", 54.7, "deg"}, {"track_magnetic", 34.4, "deg"}, {"speed", 5.5 * kn, "m/s"}}},
        {"VTG, pre-2.3 unlabelled form", "$GPVTG,054.7,034.4,005.5,010.2",
         {{"track", 54.7, "deg"}, {"track_magnetic", 34.4, "deg"}, {"speed", 5.5 * kn, "m/s"}}},
        {"VTG, km/h only", "$GPVTG,,T,,M,,N,36.0,K,A", {{"speed", 10.0, "m/s"}}},
        {"VTG, empty, mode N", "$GPVTG,,T,,M,,N,,K,N*2C", {}},
        {"GSA", "$GPGSA,A,3,04,05,,09,12,,,24,,,,,2.5,1.3,2.1*39",
         {{"fix_type", std::int64_t{3}, ""}, {"pdop", 2.5, ""}, {"hdop", 1.3, ""}, {"vdop", 2.1, ""}}},
        {"GSA, no fix", "$GPGSA,A,1,,,,,,,,,,,,,,,*1E", {{"fix_type", std::int64_t{1}, ""}}},
        {"ZDA", "$GPZDA,201530.00,04,07,2002,00,00*60",
         {{"utc_time", std::string("2002-07-04T20:15:30.000Z"), ""}, {"local_zone_offset", std::int64_t{0}, "min"}},
         hms(20, 15, 30), day_of(2002, 7, 4)},
        {"ZDA, half-hour zone west", "$GPZDA,193913.25,07,09,2018,-03,30",
         {{"utc_time", std::string("2018-09-07T19:39:13.250Z"), ""},
          {"local_zone_offset", std::int64_t{-210}, "min"}},
         hms(19, 39, 13.25), day_of(2018, 9, 7)},
        {"ZDA without zone", "$GPZDA,202640.000,13,04,2015,,*54",
         {{"utc_time", std::string("2015-04-13T20:26:40.000Z"), ""}}, hms(20, 26, 40), day_of(2015, 4, 13)},
        {"GST", "$GPGST,150119.000,004.0,008.7,004.7,132.3,006.8,007.2,00014*71",
         {{"range_rms", 4.0, "m"}, {"error_ellipse_major", 8.7, "m"}, {"error_ellipse_minor", 4.7, "m"},
          {"error_ellipse_orientation", 132.3, "deg"}, {"latitude_error", 6.8, "m"},
          {"longitude_error", 7.2, "m"}, {"altitude_error", 14.0, "m"}},
         hms(15, 1, 19)},
        {"TXT", "$GPTXT,01,01,02,ANTSTATUS=OK", {{"text", std::string("ANTSTATUS=OK"), ""}}},
    };
    for (const Case& c : cases) check_case(c);
}

TEST_CASE("nmea decode: marine instruments", "[nmea]") {
    const std::vector<Case> cases = {
        {"HDT", "$GPHDT,274.07,T*03", {{"heading_true", 274.07, "deg"}}},
        {"HDT empty", "$GPHDT,,T*1B", {}},
        {"HDG", "$HCHDG,98.3,0.0,E,12.6,W*57",
         {{"heading_sensor", 98.3, "deg"}, {"magnetic_deviation", 0.0, "deg"}, {"magnetic_variation", -12.6, "deg"}}},
        {"HDM", "$HCHDM,238.5,M", {{"heading_magnetic", 238.5, "deg"}}},
        {"ROT", "$TIROT,-3.5,A", {{"rate_of_turn", -3.5, "deg/min"}}},
        {"ROT invalid", "$TIROT,12.0,V", {{"rate_of_turn", 12.0, "deg/min", Quality::bad, "ROT status V (invalid)"}}},
        {"VHW", "$VWVHW,045.0,T,040.0,M,5.2,N,9.6,K",
         {{"heading_true", 45.0, "deg"}, {"heading_magnetic", 40.0, "deg"}, {"water_speed", 5.2 * kn, "m/s"}}},
        {"VHW with knots", "$VWVHW,,T,,M,5.2,N,9.6,K",
         {{"water_speed", 5.2 * kn, "m/s"}, {"water_speed_knots", 5.2, "kn"}}, std::nullopt, std::nullopt,
         DecodeOptions{true, false}},
        {"DBT (sounder capture)", "$SDDBT,7.7,f,2.3,M,1.3,F*05", {{"depth_below_transducer", 2.3, "m"}}},
        {"DBT, feet only", "$SDDBT,10.0,f,,M,,F", {{"depth_below_transducer", 3.048, "m"}}},
        {"DPT", "$SDDPT,12.3,0.5,100",
         {{"depth_below_transducer", 12.3, "m"}, {"transducer_offset", 0.5, "m"}, {"depth_range", 100.0, "m"}}},
        {"MTW", "$YXMTW,17.5,C", {{"water_temperature", 17.5, "degC"}}},
        {"MTW in Fahrenheit", "$YXMTW,50.0,F", {{"water_temperature", 10.0, "degC"}}},
        {"MWV relative, knots", "$IIMWV,214.8,R,10.1,N,A",
         {{"wind_angle_apparent", 214.8, "deg"}, {"wind_speed_apparent", 10.1 * kn, "m/s"}}},
        {"MWV true, m/s, knots asked", "$WIMWV,045.0,T,5.5,M,A",
         {{"wind_angle_true", 45.0, "deg"}, {"wind_speed_true", 5.5, "m/s"}, {"wind_speed_true_knots", 5.5 / kn, "kn"}},
         std::nullopt, std::nullopt, DecodeOptions{true, false}},
        {"MWV km/h, invalid", "$WIMWV,090.0,R,36.0,K,V",
         {{"wind_angle_apparent", 90.0, "deg", Quality::bad, "MWV status V (invalid)"},
          {"wind_speed_apparent", 10.0, "m/s", Quality::bad, "MWV status V (invalid)"}}},
        {"MWD", "$WIMWD,270.0,T,265.0,M,10.5,N,5.4,M",
         {{"wind_direction_true", 270.0, "deg"}, {"wind_direction_magnetic", 265.0, "deg"},
          {"wind_speed_true", 5.4, "m/s"}}},
        {"XDR, four transducers", "$IIXDR,C,19.52,C,TempAir,P,1.02481,B,Barometer,H,65.3,P,Humidity,A,-2.5,D,PTCH",
         {{"xdr.TempAir", 19.52, "degC"}, {"xdr.Barometer", 1.02481, "bar"}, {"xdr.Humidity", 65.3, "%"},
          {"xdr.PTCH", -2.5, "deg"}}},
        {"XDR, empty value and unnamed transducer", "$IIXDR,C,,C,TempAir,U,12.1,V,,P,101325,P,Baro Main",
         {{"xdr.U1", 12.1, "V"}, {"xdr.Baro_Main", 101325.0, "Pa"}}},
    };
    for (const Case& c : cases) check_case(c);
}

TEST_CASE("nmea decode: coordinates keep every digit", "[nmea]") {
    std::string storage;
    Decoded d = decode("$GPGGA,132820.60,4134.49821229,N,09345.03351845,W,2,09,1.0,278.020,M,-31.442,M,7.6,0133*7E",
                       storage);
    REQUIRE(d.readings.size() >= 2);
    // Exact values: (41*60*10^8 + 3449821229) / (60*10^8) and the same for the longitude.
    const long double lat = 249449821229.0L / 6e9L;
    const long double lon = -(562503351845.0L / 6e9L);
    CHECK(std::get<double>(d.readings[0].value) == static_cast<double>(lat));
    CHECK(std::get<double>(d.readings[1].value) == static_cast<double>(lon));
    CHECK(d.time_of_day_ns == hms(13, 28, 20.6));
}

TEST_CASE("nmea decode: unknown, proprietary and invalid fields", "[nmea]") {
    std::string storage;
    SECTION("an unknown sentence is reported as such") {
        Decoded d = decode("$GPGRS,150119.000,1,-0.33,-2.59,3.03,-0.09,-2.98,7.12,-15.6,17.0,,,,*5A", storage);
        CHECK_FALSE(d.known);
        CHECK(d.readings.empty());
    }
    SECTION("proprietary: ignored by default, passed raw when asked") {
        Decoded ignored = decode("$PGRME,9.1,M,15.0,M,12.0,M*21", storage);
        CHECK(ignored.known);
        CHECK(ignored.readings.empty());
        Decoded passed = decode("$PGRME,9.1,M,15.0,M,12.0,M*21", storage, DecodeOptions{false, true});
        REQUIRE(passed.readings.size() == 1);
        CHECK(passed.readings[0].metric == "proprietary.GRME");
        CHECK(passed.readings[0].value == Value(std::string("$PGRME,9.1,M,15.0,M,12.0,M*21")));
    }
    SECTION("a field that is not a number gives no reading and is counted") {
        Decoded d = decode("$GPGGA,123519,48x7.038,N,01131.000,E,1,08,0.9,5e2,M,46.9,M,,", storage);
        CHECK(d.field_errors == 2);
        for (const auto& r : d.readings) {
            CHECK(r.metric != "latitude");
            CHECK(r.metric != "altitude");
        }
        CHECK(d.readings.size() == 5);
    }
    SECTION("out-of-range coordinates and times are rejected") {
        CHECK(decode("$GPGLL,9100.00,N,00000.00,E,240000,A", storage).field_errors == 2);
        CHECK(decode("$GPGLL,4960.00,N,18100.00,E,126000,A", storage).field_errors == 3);
        CHECK(decode("$GPGLL,4916.45,X,12311.12,W,225444,A", storage).field_errors == 1);
        CHECK(decode("$GPRMC,123519,A,,,,,,,310294,,", storage).field_errors == 1);  // 31 February
    }
    SECTION("units that cannot be converted give no reading") {
        Decoded wind = decode("$WIMWV,090.0,R,36.0,X,A", storage);
        CHECK(wind.field_errors == 1);
        REQUIRE(wind.readings.size() == 1);
        CHECK(wind.readings[0].metric == "wind_angle_apparent");
        Decoded feet = decode("$GPGGA,123519,,,,,1,08,0.9,545.4,F,46.9,M,,", storage);
        CHECK(feet.field_errors == 1);
        for (const auto& r : feet.readings) CHECK(r.metric != "altitude");
    }
}

TEST_CASE("nmea decode: GSV pages assemble into a sky summary", "[nmea]") {
    std::string storage;
    GsvAssembler sky;
    const std::string pages[] = {
        "$GPGSV,3,1,11,03,03,111,00,04,15,270,00,06,01,010,00,13,06,292,00*74",
        "$GPGSV,3,2,11,14,25,170,00,16,57,208,39,18,67,296,40,19,40,246,00*74",
        "$GPGSV,3,3,11,22,42,067,42,24,14,311,43,27,05,244,00,,,,*4D",
    };
    std::vector<Reading> out;
    for (const auto& p : pages) {
        Decoded d = decode(p, storage);
        CHECK(d.readings.empty());
        REQUIRE(d.gsv.has_value());
        CHECK(d.gsv->system == "gps");
        out = sky.add(*d.gsv);
        if (&p != &pages[2]) CHECK(out.empty());
    }
    // 11 listed, all with an SNR (0 counts: the receiver reports it tracked at 0 dB-Hz).
    REQUIRE(out.size() == 4);
    CHECK(out[0].metric == "sky.gps.satellites_in_view");
    CHECK(out[0].value == Value(std::int64_t{11}));
    CHECK(out[1].metric == "sky.gps.satellites_tracked");
    CHECK(out[1].value == Value(std::int64_t{11}));
    CHECK(out[2].metric == "sky.gps.snr_mean");
    CHECK(std::get<double>(out[2].value) == Approx((39 + 40 + 42 + 43) / 11.0));
    CHECK(out[2].unit == "dB");
    CHECK(out[3].metric == "sky.gps.snr_max");
    CHECK(out[3].value == Value(43.0));
    CHECK(sky.incomplete() == 0);

    SECTION("a lost page abandons the group") {
        Decoded first = decode(pages[0], storage);
        Decoded last = decode(pages[2], storage);
        CHECK(sky.add(*first.gsv).empty());
        CHECK(sky.add(*last.gsv).empty());
        CHECK(sky.incomplete() == 1);
    }
    SECTION("NMEA 4.10 signal ids keep signals apart; empty SNRs are not tracked") {
        Decoded d = decode("$GAGSV,1,1,03,36,76,149,45,09,47,142,,04,40,062,35,7", storage);
        REQUIRE(d.gsv.has_value());
        CHECK(d.gsv->signal == "7");
        auto r = sky.add(*d.gsv);
        REQUIRE(r.size() == 4);
        CHECK(r[0].metric == "sky.galileo.sig7.satellites_in_view");
        CHECK(r[1].value == Value(std::int64_t{2}));
        CHECK(r[2].value == Value(40.0));
    }
    SECTION("no satellites: no SNR summary rather than a zero") {
        Decoded d = decode("$GPGSV,1,1,00,,,,,,,,,,,,,,,,*79", storage);
        auto r = sky.add(*d.gsv);
        REQUIRE(r.size() == 2);
        CHECK(r[0].value == Value(std::int64_t{0}));
        CHECK(r[1].metric == "sky.gps.satellites_tracked");
    }
}
