// NMEA framing: the stream framer and the sentence structure/checksum parser.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "drivers/nmea0183/nmea_framer.hpp"
#include "drivers/nmea0183/nmea_sentence.hpp"

using namespace loopgate::nmea;

namespace {

std::vector<std::string> frame(NmeaFramer& f, const std::string& bytes) {
    std::vector<std::string> out;
    f.feed(std::span(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size()),
           [&](std::string_view s) { out.emplace_back(s); });
    return out;
}

const std::string hdt = "$GPHDT,274.07,T*03";

}  // namespace

TEST_CASE("nmea sentence: structure and checksum", "[nmea]") {
    SECTION("the classic GGA checks out and splits into fields") {
        auto p = parse_sentence("$GPGGA,123519,4807.038,N,01131.000,E,1,08,0.9,545.4,M,46.9,M,,*47", false);
        REQUIRE(p.status == SentenceStatus::ok);
        CHECK(p.sentence.talker == "GP");
        CHECK(p.sentence.type == "GGA");
        CHECK(p.sentence.address == "GPGGA");
        CHECK_FALSE(p.sentence.proprietary);
        CHECK(p.sentence.had_checksum);
        CHECK(p.sentence.field_count() == 14);
        CHECK(p.sentence.field(2) == "4807.038");
        CHECK(p.sentence.field(14).empty());
        CHECK(p.sentence.field(99).empty());  // missing trailing fields read as empty
    }
    SECTION("checksum digits may be lower case") {
        CHECK(parse_sentence("$GPGLL,4916.45,N,12311.12,W,225444,A,*1d", false).status == SentenceStatus::ok);
    }
    SECTION("table of broken sentences") {
        struct Case {
            std::string text;
            bool allow_missing;
            SentenceStatus expected;
        };
        const Case cases[] = {
            {"$GPHDT,274.07,T*04", false, SentenceStatus::bad_checksum},
            {"$GPHDT,274.08,T*03", false, SentenceStatus::bad_checksum},  // a flipped data digit
            {"$GPHDT,274.07,T", false, SentenceStatus::missing_checksum},
            {"$GPHDT,274.07,T", true, SentenceStatus::ok},
            {"$GPHDT,274.07,T*0", false, SentenceStatus::truncated},
            {"$GPHDT,274.07,T*", false, SentenceStatus::truncated},
            {"$GPHDT,274.07,T*0G", false, SentenceStatus::malformed},
            {"$GPHDT,274.07,T*033", false, SentenceStatus::malformed},
            {"$gphdt,274.07,T", true, SentenceStatus::malformed},   // address must be upper case
            {"$,274.07,T", true, SentenceStatus::malformed},            // no address
            {"$GPH,1", true, SentenceStatus::malformed},                // talker without a formatter
            {"GPHDT,274.07,T*03", false, SentenceStatus::malformed},    // no start character
            {"", false, SentenceStatus::malformed},
            {std::string("$GPHDT,27\x01.07,T", 16), true, SentenceStatus::malformed},
            {hdt + "  ", false, SentenceStatus::ok},                     // trailing blanks are padding
        };
        for (const Case& c : cases) {
            INFO(c.text);
            CHECK(parse_sentence(c.text, c.allow_missing).status == c.expected);
        }
    }
    SECTION("proprietary and encapsulated sentences") {
        auto p = parse_sentence("$PGRME,9.1,M,15.0,M,12.0,M*21", false);
        REQUIRE(p.status == SentenceStatus::ok);
        CHECK(p.sentence.proprietary);
        CHECK(p.sentence.type == "GRME");
        CHECK(p.sentence.talker.empty());
        auto ais = parse_sentence("!AIVDM,1,1,,B,177KQJ5000G?tO`K>RA1wUbN0TKH,0*5C", false);
        REQUIRE(ais.status == SentenceStatus::ok);
        CHECK(ais.sentence.start == '!');
        CHECK(ais.sentence.talker == "AI");
        CHECK(ais.sentence.type == "VDM");
    }
    SECTION("checksum is the XOR of the body") {
        CHECK(nmea_checksum("GPHDT,274.07,T") == 0x03);
        CHECK(nmea_checksum("") == 0);
    }
}

TEST_CASE("nmea framer: sentence boundaries, garbage and resync", "[nmea]") {
    NmeaFramer f(120);
    SECTION("CR LF, bare LF and bare CR all end a sentence; blank lines are not garbage") {
        auto out = frame(f, hdt + "\r\n" + hdt + "\n" + hdt + "\r\r\n\n");
        CHECK(out == std::vector<std::string>{hdt, hdt, hdt});
        CHECK(f.counters().garbage_bytes == 0);
    }
    SECTION("a sentence split across chunks") {
        CHECK(frame(f, "$GPHDT,27").empty());
        CHECK(frame(f, "4.07,T*03\r\n") == std::vector<std::string>{hdt});
    }
    SECTION("binary garbage between sentences is counted and skipped") {
        auto out = frame(f, std::string("\x00\xff\x7fxx", 5) + hdt + "\r\nabc\r\n" + hdt + "\r\n");
        CHECK(out == std::vector<std::string>{hdt, hdt});
        CHECK(f.counters().garbage_bytes == 8);
        CHECK(f.counters().truncated == 0);
    }
    SECTION("a start character mid-line begins a new sentence") {
        auto out = frame(f, "$GPGGA,1235" + hdt + "\r\n");
        CHECK(out == std::vector<std::string>{hdt});
        CHECK(f.counters().truncated == 1);
    }
    SECTION("binary noise inside a sentence cuts it") {
        auto out = frame(f, std::string("$GPHDT,27\x01", 10) + "4.07,T*03\r\n" + hdt + "\r\n");
        CHECK(out == std::vector<std::string>{hdt});
        CHECK(f.counters().truncated == 1);
        CHECK(f.counters().garbage_bytes == 1 + 9);  // the noise byte, then "4.07,T*03" outside any sentence
    }
    SECTION("closing the line loses (and counts) a partial sentence") {
        frame(f, "$GPHDT,274");
        f.reset();
        CHECK(f.counters().truncated == 1);
        CHECK(frame(f, ".07,T*03\r\n").empty());
    }
}

TEST_CASE("nmea framer: length bound", "[nmea]") {
    NmeaFramer f(hdt.size());
    SECTION("a sentence of exactly the bound passes") { CHECK(frame(f, hdt + "\r\n") == std::vector<std::string>{hdt}); }
    SECTION("one more byte and it is dropped whole, then the next sentence is found") {
        auto out = frame(f, hdt + "X\r\n" + hdt + "\r\n");
        CHECK(out == std::vector<std::string>{hdt});
        CHECK(f.counters().overlong == 1);
        CHECK(f.counters().garbage_bytes == 0);
    }
    SECTION("a never-ending line is counted once and a '$' resyncs without waiting for CR/LF") {
        auto out = frame(f, "$" + std::string(5000, 'A') + hdt + "\r\n");
        CHECK(out == std::vector<std::string>{hdt});
        CHECK(f.counters().overlong == 1);
    }
}
