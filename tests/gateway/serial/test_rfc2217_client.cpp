// RFC 2217's client side: the opening negotiation, the port's settings sent once the server takes
// the COM-PORT-OPTION, refusals of options it does not support, and what the server confirmed.

#include <catch2/catch.hpp>

#include "gateway/serial/rfc2217_client.hpp"

using namespace loopgate;
using namespace loopgate::telnet;
using Bytes = std::vector<std::uint8_t>;

namespace {

Event option(Event::Kind kind, std::uint8_t opt) { return {kind, opt, {}}; }
Event server_says(Bytes payload) { return {Event::Kind::subnegotiation, COM_PORT_OPTION, std::move(payload)}; }

Bytes answer(Rfc2217Client& c, const Event& e) {
    Bytes out;
    c.on_event(e, out);
    return out;
}

}  // namespace

TEST_CASE("a connection opens with WILL COM-PORT-OPTION, binary both ways and no go-ahead", "[rfc2217]") {
    Rfc2217Client c({});
    Bytes out;
    c.start(out);
    CHECK(out == Bytes{IAC, WILL, 44, IAC, WILL, 0, IAC, DO, 0, IAC, WILL, 3, IAC, DO, 3});
}

TEST_CASE("the server's DO brings the port's settings, in RFC 2217's encoding, once", "[rfc2217]") {
    Rfc2217Client c({19200, 7, "even", 2, "hardware"});
    Bytes out;
    c.start(out);
    Bytes settings = answer(c, option(Event::Kind::do_, COM_PORT_OPTION));
    CHECK(settings == Bytes{IAC, SB, 44, 1, 0x00, 0x00, 0x4B, 0x00, IAC, SE,  // 19200 baud
                            IAC, SB, 44, 2, 7, IAC, SE,                       // 7 data bits
                            IAC, SB, 44, 3, 3, IAC, SE,                       // even
                            IAC, SB, 44, 4, 2, IAC, SE,                       // 2 stop bits
                            IAC, SB, 44, 5, 3, IAC, SE});                     // hardware flow control
    CHECK(c.confirmed().com_port_option);
    CHECK(answer(c, option(Event::Kind::do_, COM_PORT_OPTION)).empty());  // a repeated DO changes nothing
}

TEST_CASE("odd parity, 1.5 stop bits and software flow control have their codes", "[rfc2217]") {
    Rfc2217Client c({9600, 8, "odd", 1.5, "software"});
    Bytes out;
    c.append_settings(out);
    CHECK(out == Bytes{IAC, SB, 44, 1, 0x00, 0x00, 0x25, 0x80, IAC, SE, IAC, SB, 44, 2, 8, IAC, SE,
                       IAC, SB, 44, 3, 2, IAC, SE, IAC, SB, 44, 4, 3, IAC, SE, IAC, SB, 44, 5, 2, IAC, SE});
}

TEST_CASE("a baud rate with a 0xFF byte is escaped inside the subnegotiation", "[rfc2217]") {
    Rfc2217Client c({0x0001FFFF, 8, "none", 1, "none"});
    Bytes out;
    c.append_settings(out);
    CHECK(Bytes(out.begin(), out.begin() + 12) == Bytes{IAC, SB, 44, 1, 0x00, 0x01, 0xFF, 0xFF, 0xFF, 0xFF, IAC, SE});
}

TEST_CASE("options we do not support are refused, refusals are not answered", "[rfc2217]") {
    Rfc2217Client c({});
    CHECK(answer(c, option(Event::Kind::will, 1 /* ECHO */)) == Bytes{IAC, DONT, 1});
    CHECK(answer(c, option(Event::Kind::do_, 24 /* TERMINAL-TYPE */)) == Bytes{IAC, WONT, 24});
    CHECK(answer(c, option(Event::Kind::will, BINARY)).empty());
    CHECK(answer(c, option(Event::Kind::do_, SUPPRESS_GO_AHEAD)).empty());
    CHECK(answer(c, option(Event::Kind::wont, 1)).empty());
    CHECK(answer(c, option(Event::Kind::dont, 24)).empty());
}

TEST_CASE("the server's answers are what it confirmed, and differences are named", "[rfc2217]") {
    Rfc2217Client c({19200, 8, "even", 1, "none"});
    Bytes out;
    c.start(out);
    c.on_event(option(Event::Kind::do_, COM_PORT_OPTION), out);
    CHECK_FALSE(c.all_confirmed());
    c.on_event(server_says({101, 0x00, 0x00, 0x4B, 0x00}), out);
    c.on_event(server_says({102, 8}), out);
    c.on_event(server_says({103, 1}), out);  // a pty cannot do parity: the server says none
    c.on_event(server_says({104, 1}), out);
    CHECK_FALSE(c.all_confirmed());
    c.on_event(server_says({105, 1}), out);
    CHECK(c.all_confirmed());
    const RemotePortState& s = c.confirmed();
    CHECK(*s.baud == 19200);
    CHECK(*s.data_bits == 8);
    CHECK(*s.parity == "none");
    CHECK(*s.stop_bits == "1");
    CHECK(*s.flow_control == "none");
    CHECK(s.text() == "19200 baud, 8 data bits, parity none, 1 stop bit, flow control none");
    CHECK(c.differences() == std::vector<std::string>{"parity: asked even, the server reports none"});
    CHECK(s.json() == "{\"com_port_option\":true,\"baud\":19200,\"data_bits\":8,\"parity\":\"none\","
                      "\"stop_bits\":\"1\",\"flow_control\":\"none\",\"protocol_errors\":0}");
}

TEST_CASE("a server that refuses the option is reported as refusing", "[rfc2217]") {
    Rfc2217Client c({});
    Bytes out;
    c.start(out);
    CHECK(answer(c, option(Event::Kind::dont, COM_PORT_OPTION)).empty());
    CHECK(c.confirmed().refused);
    CHECK_FALSE(c.confirmed().com_port_option);
}

TEST_CASE("malformed COM-PORT answers are counted, not taken", "[rfc2217]") {
    Rfc2217Client c({});
    Bytes out;
    c.on_event(server_says({101, 0x00, 0x4B}), out);  // a baud rate of two bytes
    c.on_event(server_says({102, 9}), out);            // 9 data bits
    c.on_event(server_says({103, 7}), out);            // parity 7
    c.on_event(server_says({3, 3}), out);              // a client's command from the server
    c.on_event(server_says({}), out);
    CHECK(c.malformed() == 5);
    CHECK_FALSE(c.confirmed().baud);
    CHECK_FALSE(c.confirmed().data_bits);
    CHECK_FALSE(c.confirmed().parity);
}

TEST_CASE("FLOWCONTROL-SUSPEND holds data until FLOWCONTROL-RESUME", "[rfc2217]") {
    Rfc2217Client c({});
    Bytes out;
    c.on_event(server_says({108}), out);
    CHECK(c.suspended());
    c.on_event(server_says({109}), out);
    CHECK_FALSE(c.suspended());
}

TEST_CASE("a new connection starts over: settings again after the next DO, nothing confirmed", "[rfc2217]") {
    Rfc2217Client c({});
    Bytes out;
    c.start(out);
    c.on_event(option(Event::Kind::do_, COM_PORT_OPTION), out);
    c.on_event(server_says({101, 0x00, 0x00, 0x25, 0x80}), out);
    REQUIRE(c.confirmed().baud);
    out.clear();
    c.start(out);
    CHECK_FALSE(c.confirmed().baud);
    CHECK_FALSE(answer(c, option(Event::Kind::do_, COM_PORT_OPTION)).empty());
}
