// The Telnet layer of RFC 2217: data unescaped, commands and subnegotiations taken out and
// reassembled however TCP splits them, garbage counted and dropped, data escaped for sending.

#include <catch2/catch.hpp>

#include <vector>

#include "gateway/serial/telnet_codec.hpp"

using namespace loopgate;
using namespace loopgate::telnet;
using Bytes = std::vector<std::uint8_t>;

namespace {

struct Decoded {
    Bytes data;
    std::vector<Event> events;
};

// Feeds `wire` to one decoder in pieces cut at `cuts` (offsets), as TCP segments would arrive.
Decoded decode_in_pieces(const Bytes& wire, const std::vector<std::size_t>& cuts, Decoder& d) {
    Decoded out;
    std::size_t from = 0;
    auto feed = [&](std::size_t to) {
        Bytes piece(wire.begin() + static_cast<std::ptrdiff_t>(from), wire.begin() + static_cast<std::ptrdiff_t>(to));
        std::size_t n = d.decode(piece, out.events);
        REQUIRE(n <= piece.size());
        out.data.insert(out.data.end(), piece.begin(), piece.begin() + static_cast<std::ptrdiff_t>(n));
        from = to;
    };
    for (std::size_t cut : cuts) feed(cut);
    feed(wire.size());
    return out;
}

Decoded decode(const Bytes& wire) {
    Decoder d;
    return decode_in_pieces(wire, {}, d);
}

}  // namespace

TEST_CASE("plain data passes through unchanged", "[telnet]") {
    Bytes wire = {0x01, 0x03, 0x00, 0x00, 0x00, 0x02, 0xC4, 0x0B, 0x0D, 0x00, 0x0A};
    Decoded d = decode(wire);
    CHECK(d.data == wire);
    CHECK(d.events.empty());
}

TEST_CASE("a doubled 0xFF is one data byte 0xFF", "[telnet]") {
    Decoded d = decode({0x10, IAC, IAC, 0x20, IAC, IAC, IAC, IAC});
    CHECK(d.data == Bytes{0x10, 0xFF, 0x20, 0xFF, 0xFF});
}

TEST_CASE("escape doubles every 0xFF and nothing else, and decoding undoes it", "[telnet]") {
    Bytes data = {0x00, 0xFF, 0x7F, 0xFF, 0xFF, 0xFE, 0xF0};
    Bytes wire;
    escape(data, wire);
    CHECK(wire == Bytes{0x00, 0xFF, 0xFF, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE, 0xF0});
    CHECK(decode(wire).data == data);
}

TEST_CASE("option negotiation between data bytes becomes events in order", "[telnet]") {
    Decoded d = decode({'a', IAC, DO, COM_PORT_OPTION, 'b', IAC, WILL, BINARY, IAC, WONT, 1, IAC, DONT, 5, 'c'});
    CHECK(d.data == Bytes{'a', 'b', 'c'});
    REQUIRE(d.events.size() == 4);
    CHECK((d.events[0].kind == Event::Kind::do_ && d.events[0].option == COM_PORT_OPTION));
    CHECK((d.events[1].kind == Event::Kind::will && d.events[1].option == BINARY));
    CHECK((d.events[2].kind == Event::Kind::wont && d.events[2].option == 1));
    CHECK((d.events[3].kind == Event::Kind::dont && d.events[3].option == 5));
}

TEST_CASE("a subnegotiation carries its payload unescaped", "[telnet]") {
    // SET-BAUDRATE answer for 0x0000FFFF baud: the two 0xFF payload bytes are doubled on the wire.
    Decoded d = decode({IAC, SB, COM_PORT_OPTION, 101, 0x00, 0x00, IAC, IAC, IAC, IAC, IAC, SE, 'x'});
    CHECK(d.data == Bytes{'x'});
    REQUIRE(d.events.size() == 1);
    CHECK(d.events[0].kind == Event::Kind::subnegotiation);
    CHECK(d.events[0].option == COM_PORT_OPTION);
    CHECK(d.events[0].payload == Bytes{101, 0x00, 0x00, 0xFF, 0xFF});
}

TEST_CASE("a subnegotiation split at every byte is reassembled the same", "[telnet]") {
    const Bytes wire = {'A', IAC, SB, COM_PORT_OPTION, 101, 0x00, 0x00, 0x4B, 0x00, IAC, SE, IAC, IAC, 'B',
                        IAC, WILL, SUPPRESS_GO_AHEAD, 'C'};
    const Decoded whole = decode(wire);
    REQUIRE(whole.events.size() == 2);
    REQUIRE(whole.data == Bytes{'A', 0xFF, 'B', 'C'});
    for (std::size_t cut = 1; cut < wire.size(); ++cut) {
        INFO("cut at " << cut);
        Decoder d;
        Decoded split = decode_in_pieces(wire, {cut}, d);
        CHECK(split.data == whole.data);
        REQUIRE(split.events.size() == 2);
        CHECK(split.events[0].payload == whole.events[0].payload);
        CHECK(split.events[1].option == SUPPRESS_GO_AHEAD);
    }
    // One byte per segment.
    std::vector<std::size_t> every;
    for (std::size_t i = 1; i < wire.size(); ++i) every.push_back(i);
    Decoder d;
    Decoded bytewise = decode_in_pieces(wire, every, d);
    CHECK(bytewise.data == whole.data);
    CHECK(bytewise.events.size() == 2);
}

TEST_CASE("single-byte commands are events and carry no data", "[telnet]") {
    Decoded d = decode({'a', IAC, 241 /* NOP */, IAC, 246 /* AYT */, 'b'});
    CHECK(d.data == Bytes{'a', 'b'});
    REQUIRE(d.events.size() == 2);
    CHECK((d.events[0].kind == Event::Kind::command && d.events[0].option == 241));
}

TEST_CASE("garbage is counted and dropped, and the data around it kept", "[telnet]") {
    struct Case {
        const char* name;
        Bytes wire;
        Bytes data;
        std::uint64_t errors;
    };
    const std::vector<Case> cases = {
        {"IAC before a byte that is no command", {'a', IAC, 0x41, 'b'}, {'a', 'b'}, 1},
        {"SE outside a subnegotiation", {'a', IAC, SE, 'b'}, {'a', 'b'}, 1},
        {"IAC and a stray byte inside a subnegotiation", {IAC, SB, COM_PORT_OPTION, 101, IAC, 0x10, 'b'}, {'b'}, 1},
    };
    for (const Case& c : cases) {
        INFO(c.name);
        Decoder d;
        Decoded got = decode_in_pieces(c.wire, {}, d);
        CHECK(got.data == c.data);
        CHECK(d.protocol_errors() == c.errors);
    }
}

TEST_CASE("an overlong subnegotiation is dropped whole, and memory stays bounded", "[telnet]") {
    Decoder d;
    Bytes wire = {IAC, SB, COM_PORT_OPTION};
    wire.insert(wire.end(), 100'000, 0x55);
    wire.insert(wire.end(), {IAC, SE, 'z'});
    Decoded got = decode_in_pieces(wire, {5000, 60'000}, d);
    CHECK(got.events.empty());
    CHECK(got.data == Bytes{'z'});
    CHECK(d.protocol_errors() == 1);
}

TEST_CASE("reset forgets a command cut off by a lost connection", "[telnet]") {
    Decoder d;
    std::vector<Event> events;
    Bytes first = {IAC, SB, COM_PORT_OPTION, 101};
    CHECK(d.decode(first, events) == 0);
    d.reset();
    Bytes second = {'o', 'k'};
    CHECK(d.decode(second, events) == 2);
    CHECK(second == Bytes{'o', 'k'});
    CHECK(events.empty());
}

TEST_CASE("negotiate and subnegotiate write the wire forms", "[telnet]") {
    Bytes out;
    negotiate(WILL, COM_PORT_OPTION, out);
    const std::uint8_t payload[] = {1, 0x00, 0x00, 0xFF, 0x00};
    subnegotiate(COM_PORT_OPTION, payload, out);
    CHECK(out == Bytes{IAC, WILL, 44, IAC, SB, 44, 1, 0x00, 0x00, 0xFF, 0xFF, 0x00, IAC, SE});
}
