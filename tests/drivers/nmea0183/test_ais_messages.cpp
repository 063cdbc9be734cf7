// AIS six-bit armour and message decoding (ITU-R M.1371-5), field by field as the standard's tables
// list them. gpsd's decode of real captures is checked in test_ais_fieldtruth.cpp.
#include <catch2/catch.hpp>

#include <cmath>

#include "drivers/nmea0183/ais_messages.hpp"
#include "drivers/nmea0183/ais_sixbit.hpp"
#include "tests/drivers/nmea0183/ais_bit_writer.hpp"

using namespace loopgate;
using namespace loopgate::nmea::ais;
using ais_test::BitWriter;
using ais_test::header;

namespace {

Message decode(const BitWriter& w) {
    auto [payload, fill] = w.armour();
    auto bits = SixBits::from_armoured(payload, fill);
    REQUIRE(bits);
    REQUIRE(bits->size() == w.size());
    return decode_message(*bits);
}

const Reading* find(const Message& m, const std::string& metric) {
    for (const auto& r : m.readings)
        if (r.metric == metric) return &r;
    return nullptr;
}

double number(const Message& m, const std::string& metric) {
    const Reading* r = find(m, metric);
    INFO("metric " << metric);
    REQUIRE(r);
    if (const auto* d = std::get_if<double>(&r->value)) return *d;
    return static_cast<double>(std::get<std::int64_t>(r->value));
}

std::string text(const Message& m, const std::string& metric) {
    const Reading* r = find(m, metric);
    INFO("metric " << metric);
    REQUIRE(r);
    return std::get<std::string>(r->value);
}

constexpr double knot = 1852.0 / 3600.0;

// Class A position report, M.1371 table 46.
BitWriter class_a(unsigned type, std::uint32_t mmsi, unsigned status, int rot, unsigned sog, int lon, int lat,
                  unsigned cog, unsigned heading, unsigned second) {
    BitWriter w = header(type, mmsi);
    w.put(status, 4).put(rot, 8).put(sog, 10).put(1, 1).put(lon, 28).put(lat, 27).put(cog, 12).put(heading, 9)
        .put(second, 6).put(0, 2).put(0, 3).put(0, 1).put(0, 19);
    return w;
}

}  // namespace

TEST_CASE("ais sixbit: the armour alphabet, fill bits and text", "[ais]") {
    CHECK(armour_value('0') == 0);
    CHECK(armour_value('W') == 39);
    CHECK(armour_value('`') == 40);
    CHECK(armour_value('w') == 63);
    for (char c : {'X', '_', 'x', '/', ' ', ',', '*', '!'}) {
        INFO("char " << c);
        CHECK(armour_value(c) == -1);
    }

    auto all = SixBits::from_armoured("w0", 0);  // 111111 000000
    REQUIRE(all);
    CHECK(all->size() == 12);
    CHECK(all->u(0, 6) == 63);
    CHECK(all->u(3, 6) == 0b111000);
    CHECK(all->s(0, 6) == -1);
    CHECK(all->s(4, 4) == -4);  // 1100
    CHECK(all->u(10, 8) == 0);  // past the end reads zero

    auto filled = SixBits::from_armoured("w", 2);
    REQUIRE(filled);
    CHECK(filled->size() == 4);
    CHECK(filled->u(0, 6) == 0b111100);  // the two fill bits are not message bits

    CHECK_FALSE(SixBits::from_armoured("w", 6));      // fill is 0-5
    CHECK_FALSE(SixBits::from_armoured("", 1));        // more fill than payload
    CHECK_FALSE(SixBits::from_armoured("1X3", 0));     // outside the alphabet
    CHECK_FALSE(SixBits::from_armoured("1 3", 0));

    BitWriter w;
    w.text("AB 12", 8).text("X  ", 3).text("@@", 2);
    auto [payload, fill] = w.armour();
    auto t = SixBits::from_armoured(payload, fill);
    REQUIRE(t);
    CHECK(t->text(0, 8) == "AB 12");          // '@' padding ends the text
    CHECK(t->text(48, 3) == "X");             // trailing spaces removed
    CHECK(t->text_untrimmed(48, 3) == "X  ");
    CHECK(t->text(66, 2).empty());
}

TEST_CASE("ais: class A position reports (types 1, 2, 3)", "[ais]") {
    for (unsigned type : {1u, 2u, 3u}) {
        INFO("type " << type);
        // 47.5828333 N, 122.3458333 W, 12.3 kn, course 51.0, heading 181, second 15, moored.
        Message m = decode(class_a(type, 477553000, 5, 0, 123, -73407500, 28549700, 510, 181, 15));
        REQUIRE(m.status == MessageStatus::decoded);
        CHECK(m.type == type);
        CHECK(m.mmsi == 477553000);
        CHECK(vessel_device(m.mmsi) == "ais-477553000");
        CHECK(number(m, "message_type") == type);
        CHECK(number(m, "nav_status") == 5);
        CHECK(number(m, "latitude") == Approx(28549700 / 600000.0).margin(1e-9));
        CHECK(number(m, "longitude") == Approx(-122.3458333).margin(1e-6));
        CHECK(number(m, "speed_over_ground") == Approx(12.3 * knot));
        CHECK(find(m, "speed_over_ground")->unit == "m/s");
        CHECK(number(m, "course_over_ground") == Approx(51.0));
        CHECK(number(m, "heading") == 181);
        CHECK(number(m, "rate_of_turn") == 0);
        REQUIRE(m.utc_second);
        CHECK(*m.utc_second == 15);
        for (const auto& r : m.readings) CHECK(r.quality == Quality::good);
    }
}

TEST_CASE("ais: fields marked not available make no reading", "[ais]") {
    // latitude 91, longitude 181, speed 1023 (102.3 kn), course 3600, heading 511, rate of turn -128,
    // second 60.
    Message m = decode(class_a(1, 1234, 15, -128, 1023, 181 * 600000, 91 * 600000, 3600, 511, 60));
    REQUIRE(m.status == MessageStatus::decoded);
    for (const char* metric : {"latitude", "longitude", "speed_over_ground", "course_over_ground", "heading",
                               "rate_of_turn"}) {
        INFO("metric " << metric);
        CHECK_FALSE(find(m, metric));
    }
    CHECK(number(m, "nav_status") == 15);
    CHECK(number(m, "message_type") == 1);
    CHECK_FALSE(m.utc_second);

    // Out of range is no better than not available.
    Message wild = decode(class_a(1, 1234, 0, 0, 0, 181 * 600000 + 1, -91 * 600000 + 5, 3601, 400, 0));
    CHECK_FALSE(find(wild, "latitude"));
    CHECK_FALSE(find(wild, "longitude"));
    CHECK_FALSE(find(wild, "course_over_ground"));
    CHECK_FALSE(find(wild, "heading"));

    // 1022 is "102.2 knots or more": a lower bound, still a speed.
    CHECK(number(decode(class_a(1, 1, 0, 0, 1022, 0, 0, 0, 0, 0)), "speed_over_ground") == Approx(102.2 * knot));
}

TEST_CASE("ais: rate of turn is 4.733 times the root of degrees per minute", "[ais]") {
    CHECK(number(decode(class_a(1, 1, 0, 126, 0, 0, 0, 0, 0, 0)), "rate_of_turn") == Approx(708.7).margin(0.1));
    CHECK(number(decode(class_a(1, 1, 0, -11, 0, 0, 0, 0, 0, 0)), "rate_of_turn") ==
          Approx(-(11 / 4.733) * (11 / 4.733)));
    // +-127: turning faster than 5 degrees per 30 s, no rate given.
    CHECK_FALSE(find(decode(class_a(1, 1, 0, 127, 0, 0, 0, 0, 0, 0)), "rate_of_turn"));
    CHECK_FALSE(find(decode(class_a(1, 1, 0, -127, 0, 0, 0, 0, 0, 0)), "rate_of_turn"));
}

TEST_CASE("ais: a time stamp of 61-63 says how far the position can be trusted", "[ais]") {
    Message manual = decode(class_a(1, 1, 0, 0, 0, 600000, 600000, 0, 0, 61));
    CHECK(find(manual, "latitude")->quality == Quality::uncertain);
    CHECK(find(manual, "latitude")->quality_reason == "AIS position from manual input");
    Message reckoned = decode(class_a(1, 1, 0, 0, 0, 600000, 600000, 0, 0, 62));
    CHECK(find(reckoned, "longitude")->quality == Quality::uncertain);
    Message dead = decode(class_a(1, 1, 0, 0, 0, 600000, 600000, 0, 0, 63));
    CHECK(find(dead, "latitude")->quality == Quality::bad);
    CHECK(find(dead, "nav_status")->quality == Quality::good);  // not a position
    CHECK_FALSE(dead.utc_second);
}

TEST_CASE("ais: message lengths are checked per type", "[ais]") {
    BitWriter full = class_a(1, 1, 0, 0, 0, 0, 0, 0, 0, 0);
    REQUIRE(full.size() == 168);
    BitWriter short_a = header(1, 1);
    short_a.pad_to(162);
    CHECK(decode(short_a).status == MessageStatus::bad_length);
    short_a.pad_to(163);  // seen in the wild; gpsd accepts it too
    CHECK(decode(short_a).status == MessageStatus::decoded);
    BitWriter tiny;
    tiny.put(1, 6).put(0, 20);
    CHECK(decode(tiny).status == MessageStatus::bad_length);
    BitWriter long_range = header(27, 1);
    long_range.pad_to(100);
    CHECK(decode(long_range).status == MessageStatus::bad_length);
}

TEST_CASE("ais: base station report (type 4) carries the station's UTC time", "[ais]") {
    BitWriter w = header(4, 2393200);
    w.put(2023, 14).put(4, 4).put(8, 5).put(13, 5).put(45, 6).put(30, 6).put(0, 1)
        .put(static_cast<int>(std::lround(20.2589917 * 600000)), 28).put(static_cast<int>(std::lround(39.4879883 * 600000)), 27)
        .put(7, 4).pad_to(168);
    Message m = decode(w);
    REQUIRE(m.status == MessageStatus::decoded);
    CHECK(number(m, "latitude") == Approx(39.4879883).margin(1e-6));
    CHECK(number(m, "longitude") == Approx(20.2589917).margin(1e-6));
    REQUIRE(m.utc_time_ns);
    CHECK(*m.utc_time_ns == 1680961530LL * 1'000'000'000);  // 2023-04-08T13:45:30Z
    CHECK(source_time(m, 1) == *m.utc_time_ns);

    // 0000-00-00T24:60:60 is "not available": the receive time stands.
    BitWriter na = header(4, 2393200);
    na.put(0, 14).put(0, 4).put(0, 5).put(24, 5).put(60, 6).put(60, 6).pad_to(168);
    Message n = decode(na);
    CHECK_FALSE(n.utc_time_ns);
    CHECK(source_time(n, 42) == 42);
}

TEST_CASE("ais: static and voyage data (type 5)", "[ais]") {
    auto make = [](std::size_t bits) {
        BitWriter w = header(5, 244660390);
        w.put(1, 2).put(9266633, 30).text("PB4664 ", 7).text("LAHRINGEN", 20).put(70, 8).put(100, 9).put(10, 9)
            .put(6, 6).put(5, 6).put(1, 4).put(11, 4).put(21, 5).put(12, 5).put(0, 6).put(30, 8)
            .text("R'DAM/LWARDEN   ", 20).put(0, 1).put(0, 1);
        BitWriter cut;
        auto [payload, fill] = w.armour();
        (void)fill;
        // Rebuild with `bits` bits: what short transmitters send.
        auto six = SixBits::from_armoured(payload, 0);
        for (std::size_t i = 0; i < bits; ++i) cut.put(six->u(i, 1), 1);
        return cut;
    };
    for (std::size_t bits : {424u, 422u, 420u}) {
        INFO(bits << " bits");
        Message m = decode(make(bits));
        REQUIRE(m.status == MessageStatus::decoded);
        CHECK(text(m, "ship_name") == "LAHRINGEN");
        CHECK(text(m, "call_sign") == "PB4664");
        CHECK(text(m, "destination") == "R'DAM/LWARDEN");
        CHECK(number(m, "imo") == 9266633);
        CHECK(number(m, "ship_type") == 70);
        CHECK(number(m, "length") == 110);
        CHECK(number(m, "beam") == 11);
        CHECK(number(m, "draught") == Approx(3.0));
        CHECK(number(m, "message_type") == 5);
        CHECK_FALSE(find(m, "latitude"));
        CHECK_FALSE(m.utc_second);
        CHECK(source_time(m, 77) == 77);
    }
    CHECK(decode(make(419)).status == MessageStatus::bad_length);

    // Empty names, IMO 0, ship type 0, draught 0 and dimensions 0 are "not available".
    BitWriter blank = header(5, 1);
    blank.put(0, 2).put(0, 30).text("", 7).text("       ", 20).pad_to(302).text("", 20).pad_to(424);
    Message b = decode(blank);
    REQUIRE(b.status == MessageStatus::decoded);
    for (const char* metric : {"imo", "call_sign", "ship_name", "ship_type", "length", "beam", "draught", "destination"}) {
        INFO("metric " << metric);
        CHECK_FALSE(find(b, metric));
    }
}

TEST_CASE("ais: class B position reports (types 18 and 19)", "[ais]") {
    BitWriter b18 = header(18, 230108610);
    b18.put(0, 8).put(73, 10).put(0, 1).put(14978829, 28).put(36098238, 27).put(2980, 12).put(298, 9).put(7, 6)
        .pad_to(168);
    Message m = decode(b18);
    REQUIRE(m.status == MessageStatus::decoded);
    CHECK(number(m, "speed_over_ground") == Approx(7.3 * knot));
    CHECK(number(m, "latitude") == Approx(36098238 / 600000.0));
    CHECK(number(m, "longitude") == Approx(14978829 / 600000.0));
    CHECK(number(m, "course_over_ground") == Approx(298.0));
    CHECK(number(m, "heading") == 298);
    CHECK(*m.utc_second == 7);
    CHECK_FALSE(find(m, "nav_status"));  // class B sends none

    BitWriter b19 = header(19, 367059850);
    b19.put(0, 8).put(87, 10).put(0, 1).put(-53113962, 28).put(17594400, 27).put(3350, 12).put(511, 9).put(46, 6)
        .put(0, 4).text("CAPT.J.RIMES", 20).put(70, 8).put(5, 9).put(21, 9).put(4, 6).put(4, 6).pad_to(312);
    Message e = decode(b19);
    REQUIRE(e.status == MessageStatus::decoded);
    CHECK(text(e, "ship_name") == "CAPT.J.RIMES");
    CHECK(number(e, "ship_type") == 70);
    CHECK(number(e, "length") == 26);
    CHECK(number(e, "beam") == 8);
    CHECK(number(e, "speed_over_ground") == Approx(8.7 * knot));
    CHECK(number(e, "longitude") == Approx(-53113962 / 600000.0));
    CHECK_FALSE(find(e, "heading"));
    BitWriter b19_short = header(19, 1);
    b19_short.pad_to(311);
    CHECK(decode(b19_short).status == MessageStatus::bad_length);
}

TEST_CASE("ais: aid to navigation (type 21) with a name extension", "[ais]") {
    auto make = [](const std::string& name, const std::string& extension, unsigned second, bool off) {
        BitWriter w = header(21, 993672009);
        w.put(14, 5).text(name, 20).put(0, 1).put(-74002100, 28).put(24381400, 27).pad_to(253).put(second, 6)
            .put(off ? 1 : 0, 1).pad_to(272);
        if (!extension.empty()) w.text(extension, static_cast<unsigned>(extension.size()));
        return w;
    };
    Message m = decode(make("NORTH HARBOUR ENTRAN", "CE BUOY 7", 12, true));
    REQUIRE(m.status == MessageStatus::decoded);
    CHECK(text(m, "name") == "NORTH HARBOUR ENTRANCE BUOY 7");
    CHECK(number(m, "aid_type") == 14);
    CHECK(number(m, "latitude") == Approx(24381400 / 600000.0));
    CHECK(number(m, "longitude") == Approx(-74002100 / 600000.0));
    CHECK(std::get<bool>(find(m, "off_position")->value));
    CHECK(*m.utc_second == 12);

    // A short name ends at its padding; the extension is only read when all 20 characters are used.
    Message s = decode(make("BUOY 3  ", "", 60, true));
    CHECK(text(s, "name") == "BUOY 3");
    CHECK_FALSE(find(s, "off_position"));  // only meaningful with a valid second

    BitWriter too_short = header(21, 1);
    too_short.pad_to(271);
    CHECK(decode(too_short).status == MessageStatus::bad_length);
}

TEST_CASE("ais: class B static data (type 24) parts A and B", "[ais]") {
    BitWriter a = header(24, 338085237);
    a.put(0, 2).text("ENTERPRISE 2   ", 20);
    REQUIRE(a.size() == 160);
    Message ma = decode(a);
    REQUIRE(ma.status == MessageStatus::decoded);
    CHECK(text(ma, "ship_name") == "ENTERPRISE 2");
    CHECK_FALSE(find(ma, "call_sign"));

    BitWriter b = header(24, 338085237);
    b.put(1, 2).put(37, 8).text("SRT", 3).put(1, 4).put(12345, 20).text("KFB8476", 7).put(12, 9).put(3, 9)
        .put(2, 6).put(2, 6).put(0, 6);
    REQUIRE(b.size() == 168);
    Message mb = decode(b);
    REQUIRE(mb.status == MessageStatus::decoded);
    CHECK(number(mb, "ship_type") == 37);
    CHECK(text(mb, "call_sign") == "KFB8476");
    CHECK(number(mb, "length") == 15);
    CHECK(number(mb, "beam") == 4);
    CHECK_FALSE(find(mb, "ship_name"));

    // An auxiliary craft (MMSI 98...) carries its mother ship's MMSI instead of dimensions.
    BitWriter aux = header(24, 981234567);
    aux.put(1, 2).put(37, 8).pad_to(90).text("AUX", 7).put(338085237, 30).pad_to(168);
    Message mx = decode(aux);
    REQUIRE(mx.status == MessageStatus::decoded);
    CHECK_FALSE(find(mx, "length"));

    BitWriter part_c = header(24, 1);
    part_c.put(2, 2).pad_to(168);
    CHECK(decode(part_c).status == MessageStatus::bad_length);
}

TEST_CASE("ais: long-range position (type 27) in tenths of a minute and whole knots", "[ais]") {
    BitWriter w = header(27, 230108610);
    w.put(0, 1).put(0, 1).put(5, 4).put(14978, 18).put(-36098, 17).put(12, 6).put(30, 9).put(1, 1).put(0, 1);
    REQUIRE(w.size() == 96);
    Message m = decode(w);
    REQUIRE(m.status == MessageStatus::decoded);
    CHECK(number(m, "latitude") == Approx(-36098 / 600.0));
    CHECK(number(m, "longitude") == Approx(14978 / 600.0));
    CHECK(number(m, "speed_over_ground") == Approx(12 * knot));
    CHECK(number(m, "course_over_ground") == 30);
    CHECK(number(m, "nav_status") == 5);

    BitWriter na = header(27, 1);
    na.put(0, 2).put(15, 4).put(181 * 600, 18).put(91 * 600, 17).put(63, 6).put(511, 9).put(0, 2);
    Message n = decode(na);
    REQUIRE(n.status == MessageStatus::decoded);
    for (const char* metric : {"latitude", "longitude", "speed_over_ground", "course_over_ground"}) {
        INFO("metric " << metric);
        CHECK_FALSE(find(n, metric));
    }
}

TEST_CASE("ais: other message types are recognised, not decoded", "[ais]") {
    for (unsigned type : {6u, 7u, 8u, 9u, 17u, 20u, 23u, 0u, 63u}) {
        INFO("type " << type);
        BitWriter w = header(type, 1);
        w.pad_to(168);
        Message m = decode(w);
        CHECK(m.status == MessageStatus::other_type);
        CHECK(m.type == type);
        CHECK(m.readings.empty());
    }
}

TEST_CASE("ais: the source time is the receive time moved to the message's UTC second", "[ais]") {
    const std::int64_t s = 1'000'000'000;
    const std::int64_t noon = 1'700'000'000LL / 60 * 60 * s;  // a whole minute
    Message m;
    m.utc_second = 15;
    CHECK(source_time(m, noon + 20 * s) == noon + 15 * s);
    CHECK(source_time(m, noon + 17 * s + 300'000'000) == noon + 15 * s);
    // Made at second 59 of the last minute, received just after the minute turned.
    m.utc_second = 59;
    CHECK(source_time(m, noon + 1 * s) == noon - 1 * s);
    // A receiver clock a little behind the station's: the second lies just ahead.
    m.utc_second = 2;
    CHECK(source_time(m, noon - 1 * s) == noon + 2 * s);
    m.utc_second.reset();
    CHECK(source_time(m, noon + 7) == noon + 7);
}
