// Multi-sentence AIS messages: rebuilt per stream (talker and sentence, channel, sequential id); a
// broken sequence drops its message, counted, and is never glued onto another.
#include <catch2/catch.hpp>

#include "drivers/nmea0183/ais_reassembly.hpp"
#include "drivers/nmea0183/nmea_sentence.hpp"
#include "tests/drivers/nmea0183/ais_bit_writer.hpp"

using namespace loopgate;
using namespace loopgate::nmea::ais;

namespace {

struct Feeder {
    Reassembler r{4};
    std::vector<std::string> done;  // "payload/fill" of each completed message

    // `fields` without the leading '!' and checksum, e.g. "AIVDM,2,1,7,A,ABC,0".
    bool add(const std::string& fields) {
        std::string line = ais_test::with_checksum("!" + fields);
        line.resize(line.size() - 2);  // CR LF
        auto parsed = loopgate::nmea::parse_sentence(line, false);
        REQUIRE(parsed.status == loopgate::nmea::SentenceStatus::ok);
        REQUIRE(is_ais_sentence(parsed.sentence));
        auto f = parse_fragment(parsed.sentence);
        if (!f) return false;
        auto p = r.add(*f);
        if (p) done.push_back(std::string(p->armoured) + "/" + std::to_string(p->fill_bits));
        return true;
    }
};

}  // namespace

TEST_CASE("ais reassembly: fragments of one message join in order", "[ais]") {
    Feeder f;
    f.add("AIVDM,1,1,,B,SINGLE,0");
    f.add("AIVDM,3,1,7,A,ONE,0");
    f.add("AIVDM,3,2,7,A,TWO,0");
    CHECK(f.done.size() == 1);
    f.add("AIVDM,3,3,7,A,THREE,2");
    REQUIRE(f.done.size() == 2);
    CHECK(f.done[0] == "SINGLE/0");
    CHECK(f.done[1] == "ONETWOTHREE/2");  // the last fragment's fill bits
    CHECK(f.r.dropped() == 0);
    CHECK(f.r.in_progress() == 0);
}

TEST_CASE("ais reassembly: channels, ids and talkers are separate streams", "[ais]") {
    Feeder f;
    f.add("AIVDM,2,1,3,A,A1,0");
    f.add("AIVDM,2,1,3,B,B1,0");  // the same id on the other channel
    f.add("AIVDM,2,1,4,A,C1,0");  // another id on the same channel
    f.add("ABVDM,2,1,3,A,D1,0");  // another talker: a second receiver on the same line
    f.add("AIVDM,2,2,3,B,B2,0");
    f.add("AIVDM,2,2,4,A,C2,0");
    f.add("ABVDM,2,2,3,A,D2,0");
    f.add("AIVDM,2,2,3,A,A2,0");
    CHECK(f.done == std::vector<std::string>{"B1B2/0", "C1C2/0", "D1D2/0", "A1A2/0"});
    CHECK(f.r.dropped() == 0);
}

TEST_CASE("ais reassembly: a broken sequence drops its message and is counted", "[ais]") {
    SECTION("out of order") {
        Feeder f;
        f.add("AIVDM,3,1,1,A,X1,0");
        f.add("AIVDM,3,3,1,A,X3,0");
        f.add("AIVDM,3,2,1,A,X2,0");  // too late: its message is gone
        CHECK(f.done.empty());
        CHECK(f.r.dropped() == 2);
        CHECK(f.r.in_progress() == 0);
    }
    SECTION("a lost first fragment") {
        Feeder f;
        f.add("AIVDM,2,2,5,A,ORPHAN,2");
        CHECK(f.done.empty());
        CHECK(f.r.dropped() == 1);
    }
    SECTION("a lost last fragment: the id's next first fragment starts afresh") {
        Feeder f;
        f.add("AIVDM,2,1,6,B,OLD,0");
        f.add("AIVDM,2,1,6,B,NEW1,0");
        f.add("AIVDM,2,2,6,B,NEW2,0");
        CHECK(f.done == std::vector<std::string>{"NEW1NEW2/0"});
        CHECK(f.r.dropped() == 1);
    }
    SECTION("a fragment of a different message (another count) is not glued on") {
        Feeder f;
        f.add("AIVDM,2,1,2,A,P1,0");
        f.add("AIVDM,3,2,2,A,Q2,0");
        f.add("AIVDM,2,2,2,A,P2,0");  // P lost its place when Q2 broke the sequence
        CHECK(f.done.empty());
        CHECK(f.r.dropped() == 2);
    }
    SECTION("bounded: the oldest message in progress makes room") {
        Feeder f;  // four at most
        for (int id = 0; id < 5; ++id) f.add("AIVDM,2,1," + std::to_string(id) + ",A,M" + std::to_string(id) + ",0");
        CHECK(f.r.in_progress() == 4);
        CHECK(f.r.dropped() == 1);
        f.add("AIVDM,2,2,4,A,N,0");
        CHECK(f.done == std::vector<std::string>{"M4N/0"});
        f.r.reset();  // the line closed
        CHECK(f.r.dropped() == 4);
        CHECK(f.r.in_progress() == 0);
    }
    SECTION("too long for any AIS message") {
        Feeder f;
        const std::string part(Reassembler::max_payload_chars / 2 + 1, '0');
        f.add("AIVDM,2,1,1,A," + part + ",0");
        f.add("AIVDM,2,2,1,A," + part + ",0");
        CHECK(f.done.empty());
        CHECK(f.r.dropped() == 1);
    }
}

TEST_CASE("ais reassembly: fields that do not make a fragment", "[ais]") {
    Feeder f;
    CHECK_FALSE(f.add("AIVDM,0,1,,A,ABC,0"));   // no fragments
    CHECK_FALSE(f.add("AIVDM,2,3,1,A,ABC,0"));  // fragment 3 of 2
    CHECK_FALSE(f.add("AIVDM,1,1,,A,,0"));      // no payload
    CHECK_FALSE(f.add("AIVDM,1,1,,A,ABC,6"));   // fill is 0-5
    CHECK_FALSE(f.add("AIVDM,1,1,12,A,ABC,0")); // the sequential id is one digit
    CHECK_FALSE(f.add("AIVDM,A,1,,A,ABC,0"));
    CHECK_FALSE(f.add("AIVDM,1,1,,A"));
    CHECK(f.add("AIVDO,1,1,,,ABC,0"));           // own ship, no channel
    CHECK(f.done == std::vector<std::string>{"ABC/0"});
}
