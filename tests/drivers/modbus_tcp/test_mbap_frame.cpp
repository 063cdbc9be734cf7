// The MBAP codec (Modbus Messaging on TCP/IP Implementation Guide V1.0b, 3.1.3) against the
// Application Protocol's own examples, and against ADUs that pymodbus builds.
#include <catch2/catch.hpp>

#include <cstdio>
#include <sstream>

#include "drivers/modbus_tcp/mbap_frame.hpp"
#include "tests/drivers/hex_bytes.hpp"

using namespace loopgate;
namespace mb = loopgate::modbus;
namespace tcp = loopgate::modbus::tcp;

TEST_CASE("MBAP frames of the Application Protocol's examples", "[modbus][tcp]") {
    // Application Protocol V1.1b3 6.3: read holding registers 108-110 (address 0x6B, 3 registers),
    // here under transaction 0x0001 to unit 0x11: header 00 01 | 00 00 | 00 06 | 11.
    CHECK(tcp::frame(mb::read_request(0x11, mb::Table::holding, 0x6B, 3), 0x0001) ==
          hex("00 01 00 00 00 06 11 03 00 6B 00 03"));
    // 6.1: read coils 20-38; 6.6: write single register 2 = 3; 6.12: write registers 2-3 = 000A 0102.
    CHECK(tcp::frame(mb::read_request(0xFF, mb::Table::coil, 0x13, 19), 0xBEEF) == hex("BE EF 00 00 00 06 FF 01 00 13 00 13"));
    CHECK(tcp::frame(mb::write_request(1, mb::Table::holding, 1, {3}), 7) == hex("00 07 00 00 00 06 01 06 00 01 00 03"));
    CHECK(tcp::frame(mb::write_request(1, mb::Table::holding, 1, {0x000A, 0x0102}), 8) ==
          hex("00 08 00 00 00 0B 01 10 00 01 00 02 04 00 0A 01 02"));

    tcp::Header h;
    std::string error;
    auto r = tcp::parse_response(hex("00 01 00 00 00 09 11 03 06 02 2B 00 00 00 64"), h, error);
    REQUIRE(r);
    CHECK(h.transaction == 1);
    CHECK(h.unit == 0x11);
    CHECK(r->unit == 0x11);
    CHECK(r->registers == std::vector<std::uint16_t>{0x022B, 0x0000, 0x0064});
    r = tcp::parse_response(hex("00 02 00 00 00 06 FF 01 03 CD 6B 05"), h, error);
    REQUIRE(r);
    CHECK(r->bits.size() == 24);
    CHECK(r->bits[0]);
    CHECK_FALSE(r->bits[1]);
    r = tcp::parse_response(hex("00 03 00 00 00 03 0A 81 02"), h, error);  // 7: exception 02
    REQUIRE(r);
    CHECK(r->exception);
    CHECK(r->exception_code == 2);
    CHECK(r->function == 1);
}

TEST_CASE("MBAP: where an ADU ends in a stream, and what is no ADU", "[modbus][tcp]") {
    auto adu = hex("00 01 00 00 00 09 11 03 06 02 2B 00 00 00 64");
    for (std::size_t n = 0; n < adu.size(); ++n) {
        CAPTURE(n);
        auto s = tcp::adu_size(std::span(adu).first(n));
        CHECK(s.status != tcp::AduSize::invalid);
        if (n >= 7) CHECK(s.length == adu.size());
    }
    auto two = adu;
    two.insert(two.end(), adu.begin(), adu.end());
    auto s = tcp::adu_size(two);
    CHECK(s.status == tcp::AduSize::known);
    CHECK(s.length == 15);

    struct Bad {
        const char* what;
        const char* bytes;
        const char* error;
    };
    for (const Bad& b : std::vector<Bad>{
             {"protocol id 1", "00 01 00 01 00 06 11 03 00 6B 00 03", "not a Modbus protocol id"},
             {"length 0", "00 01 00 00 00 00 11", "MBAP length out of range"},
             {"length 1: a unit id and no PDU", "00 01 00 00 00 01 11", "MBAP length out of range"},
             {"length 255: a PDU over 253 bytes", "00 01 00 00 00 FF 11 03", "MBAP length out of range"},
             {"PDU shorter than its byte count", "00 01 00 00 00 05 11 03 06 02 2B", "MBAP length disagrees with the function code"},
             {"PDU longer than its byte count", "00 01 00 00 00 06 11 03 02 02 2B 00", "MBAP length disagrees with the function code"},
             {"bytes beyond the length", "00 01 00 00 00 03 11 83 02 00", "frame longer than its MBAP length"},
             {"unknown function code", "00 01 00 00 00 03 11 2B 0E", "unknown function code"},
             {"header cut short", "00 01 00 00 00 09 11 03", "truncated frame"},
         }) {
        CAPTURE(b.what);
        tcp::Header h;
        std::string error;
        CHECK_FALSE(tcp::parse_response(hex(b.bytes), h, error));
        CHECK(error == b.error);
    }
    // A wrong protocol id shows as soon as it has arrived.
    CHECK(tcp::adu_size(hex("00 01 00 02")).status == tcp::AduSize::invalid);
}

TEST_CASE("MBAP ADUs built by pymodbus decode, and the driver's frames equal them", "[modbus][tcp][pymodbus]") {
    std::string cmd = "/usr/bin/python3 " LOOPGATE_SOURCE_DIR "/tests/drivers/modbus_tcp/pymodbus_adus.py 2>&1";
    FILE* p = popen(cmd.c_str(), "r");
    REQUIRE(p);
    std::string text;
    char buf[4096];
    while (std::size_t n = fread(buf, 1, sizeof buf, p)) text.append(buf, n);
    REQUIRE(pclose(p) == 0);

    auto bytes = [](const std::string& hexstr) {
        std::vector<std::uint8_t> out;
        for (std::size_t i = 0; i + 1 < hexstr.size(); i += 2)
            out.push_back(static_cast<std::uint8_t>(std::stoul(hexstr.substr(i, 2), nullptr, 16)));
        return out;
    };
    std::istringstream lines(text);
    std::string name, request_hex, response_hex;
    unsigned transaction = 0, unit = 0;
    std::size_t cases = 0;
    while (lines >> name >> transaction >> unit >> request_hex >> response_hex) {
        CAPTURE(name);
        ++cases;
        auto request = bytes(request_hex);
        auto response = bytes(response_hex);
        tcp::Header h;
        std::string error;
        auto q = tcp::parse_request(request, h, error);
        REQUIRE(q);
        CHECK(h.transaction == transaction);
        CHECK(q->unit == unit);
        // Built from what was decoded, our frame is pymodbus's byte for byte.
        CHECK(tcp::frame(*q, static_cast<std::uint16_t>(transaction)) == request);
        auto r = tcp::parse_response(response, h, error);
        INFO(error);
        REQUIRE(r);
        CHECK(h.transaction == transaction);
        CHECK(r->unit == unit);
        if (name == "exception") {
            CHECK(r->exception);
            CHECK(r->exception_code == 2);
        } else {
            CHECK(mb::response_matches(*q, *r, error));
        }
        if (name == "read_holding") CHECK(r->registers == std::vector<std::uint16_t>{0x022B, 0, 0x64});
        if (name == "read_coils") CHECK(std::vector<bool>(r->bits.begin(), r->bits.begin() + 4) == std::vector<bool>{true, false, true, true});
        if (name == "write_coil") CHECK(r->value == 0xFF00);
        if (name == "write_registers") CHECK(r->value == 2);
    }
    CHECK(cases == 8);
}
