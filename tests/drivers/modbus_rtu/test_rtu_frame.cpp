// Modbus RTU frames and the PDUs inside them: CRC, request building, frame sizing and response
// parsing, checked against the example frames of the Modbus specifications (Application Protocol V1.1b3 section 6, Serial Line
// V1.02 and the classic PI-MBUS-300 examples with slave 0x11).
#include <catch2/catch.hpp>

#include "tests/drivers/hex_bytes.hpp"

#include <sstream>

#include "drivers/modbus_rtu/crc16.hpp"
#include "drivers/modbus_rtu/rtu_frame.hpp"

using namespace loopgate::modbus;
using namespace loopgate::modbus::rtu;

namespace {

}  // namespace

TEST_CASE("modbus crc16 matches the specification's frames", "[modbus]") {
    struct Case {
        const char* body;
        const char* crc;  // wire order: low byte first
    };
    const Case cases[] = {
        {"01 03 00 00 00 0A", "C5 CD"},                      // the frame every Modbus tutorial shows
        {"11 03 00 6B 00 03", "76 87"},                      // read holding registers 108-110 of slave 17
        {"01 03 00 6B 00 03", "74 17"},                      // the same from unit 1
        {"01 83 02", "C0 F1"},                               // exception: illegal data address
        {"11 01 00 13 00 25", "0E 84"},                      // read coils 20-56
        {"11 01 05 CD 6B B2 0E 1B", "45 E6"},                // ... and its response
        {"11 06 00 01 00 03", "9A 9B"},                      // write single register
        {"11 10 00 01 00 02 04 00 0A 01 02", "C6 F0"},       // write multiple registers
        {"11 04 00 08 00 01", "B2 98"},                      // read input register 9
    };
    for (const Case& c : cases) {
        CAPTURE(c.body);
        auto body = hex(c.body);
        auto expect = hex(c.crc);
        std::uint16_t crc = crc16(body);
        CHECK((crc & 0xFF) == expect[0]);
        CHECK((crc >> 8) == expect[1]);
        auto frame = body;
        append_crc(frame);
        CHECK(crc_ok(frame));
        frame[1] ^= 0x01;
        CHECK_FALSE(crc_ok(frame));
    }
    CHECK(crc16({}) == 0xFFFF);
    CHECK_FALSE(crc_ok(hex("C0 F1")));
}

TEST_CASE("modbus requests are built byte for byte as the specification shows", "[modbus]") {
    CHECK(frame(read_request(0x11, Table::holding, 0x006B, 3)) == hex("11 03 00 6B 00 03 76 87"));
    CHECK(frame(read_request(0x01, Table::holding, 0, 10)) == hex("01 03 00 00 00 0A C5 CD"));
    CHECK(frame(read_request(0x11, Table::coil, 0x0013, 0x25)) == hex("11 01 00 13 00 25 0E 84"));
    CHECK(frame(read_request(0x11, Table::input, 0x0008, 1)) == hex("11 04 00 08 00 01 B2 98"));
    CHECK(frame(read_request(0x11, Table::discrete_input, 0x00C4, 0x16))[1] == 0x02);
    CHECK(frame(write_request(0x11, Table::holding, 0x0001, {0x0003})) == hex("11 06 00 01 00 03 9A 9B"));
    std::vector<std::uint16_t> regs{0x000A, 0x0102};
    CHECK(frame(write_request(0x11, Table::holding, 0x0001, regs)) == hex("11 10 00 01 00 02 04 00 0A 01 02 C6 F0"));
    auto coil_on = frame(write_request(0x11, Table::coil, 0x00AC, {1}));
    CHECK(std::vector<std::uint8_t>(coil_on.begin(), coil_on.end() - 2) == hex("11 05 00 AC FF 00"));
    CHECK(crc_ok(coil_on));
    auto coil_off = frame(write_request(0x11, Table::coil, 0x00AC, {0}));
    CHECK(coil_off[4] == 0x00);
    CHECK(coil_off[5] == 0x00);
    // Application Protocol 6.11: coils 20-29 = 1100 1101 01 -> CD 01.
    std::vector<bool> coils{true, false, true, true, false, false, true, true, true, false};
    auto multi = frame(write_coils_request(0x11, 0x0013, coils));
    CHECK(std::vector<std::uint8_t>(multi.begin(), multi.end() - 2) == hex("11 0F 00 13 00 0A 02 CD 01"));
    CHECK(crc_ok(multi));
}

TEST_CASE("modbus response sizes follow from function code and byte count", "[modbus]") {
    struct Case {
        const char* bytes;
        FrameSize::Status status;
        std::size_t length;
    };
    const Case cases[] = {
        {"", FrameSize::need_more, 0},
        {"11", FrameSize::need_more, 0},
        {"11 03", FrameSize::need_more, 0},
        {"11 03 06", FrameSize::known, 11},
        {"11 01 05", FrameSize::known, 10},
        {"11 02 03", FrameSize::known, 8},
        {"11 04 02", FrameSize::known, 7},
        {"11 05", FrameSize::known, 8},
        {"11 06", FrameSize::known, 8},
        {"11 0F", FrameSize::known, 8},
        {"11 10", FrameSize::known, 8},
        {"01 83", FrameSize::known, 5},
        {"01 90", FrameSize::known, 5},
        {"01 80", FrameSize::invalid, 0},
        {"01 07", FrameSize::invalid, 0},
        {"F8 03 02", FrameSize::invalid, 0},  // units 248-255 are reserved
    };
    for (const Case& c : cases) {
        CAPTURE(c.bytes);
        FrameSize s = response_size(hex(c.bytes));
        CHECK(s.status == c.status);
        CHECK(s.length == c.length);
    }
    CHECK(request_size(hex("11 03")).length == 8);
    CHECK(request_size(hex("11 10 00 01 00 02")).status == FrameSize::need_more);
    CHECK(request_size(hex("11 10 00 01 00 02 04")).length == 13);
    CHECK(request_size(hex("11 0F 00 13 00 0A 02")).length == 11);
    CHECK(request_size(hex("11 2B")).status == FrameSize::invalid);
}

TEST_CASE("modbus responses parse into registers, bits, echoes and exceptions", "[modbus]") {
    std::string error;
    SECTION("read holding registers: 108 = 555, 109 = 0, 110 = 100") {
        auto r = parse_response(hex("11 03 06 02 2B 00 00 00 64 C8 BA"), error);
        REQUIRE(r);
        CHECK(r->unit == 0x11);
        CHECK(r->function == 3);
        CHECK_FALSE(r->exception);
        CHECK(r->registers == std::vector<std::uint16_t>{555, 0, 100});
    }
    SECTION("read coils 20-38 (Application Protocol 6.1): CD 6B 05") {
        auto frame = hex("01 01 03 CD 6B 05");
        append_crc(frame);
        CHECK(frame == hex("01 01 03 CD 6B 05 42 82"));
        auto r = parse_response(frame, error);
        REQUIRE(r);
        REQUIRE(r->bits.size() == 24);
        // CD = 1100 1101: coil 20 is the LSB.
        const bool expect[] = {true, false, true, true, false, false, true, true,   // CD
                               true, true, false, true, false, true, true, false,   // 6B
                               true, false, true};                                   // 05, coils 36-38
        for (std::size_t i = 0; i < 19; ++i) CHECK(r->bits[i] == expect[i]);
        Request q{0x01, fc::read_coils, 0x0013, 0x0013, {}, {}};
        CHECK(response_matches(q, *r, error));
    }
    SECTION("read coils 20-56 of slave 17") {
        auto r = parse_response(hex("11 01 05 CD 6B B2 0E 1B 45 E6"), error);
        REQUIRE(r);
        CHECK(r->bits.size() == 40);
        Request q{0x11, fc::read_coils, 0x0013, 0x0025, {}, {}};
        CHECK(response_matches(q, *r, error));
    }
    SECTION("exception 01 83 02: illegal data address") {
        auto r = parse_response(hex("01 83 02 C0 F1"), error);
        REQUIRE(r);
        CHECK(r->exception);
        CHECK(r->function == 3);
        CHECK(exception_name(r->exception_code) == "ILLEGAL_DATA_ADDRESS");
        Request q{0x01, fc::read_holding_registers, 0, 10, {}, {}};
        CHECK(response_matches(q, *r, error));
    }
    SECTION("write echoes") {
        auto r = parse_response(hex("11 06 00 01 00 03 9A 9B"), error);
        REQUIRE(r);
        CHECK(r->address == 1);
        CHECK(r->value == 3);
        Request q{0x11, fc::write_single_register, 1, 1, {3}, {}};
        CHECK(response_matches(q, *r, error));
        q.registers = {4};
        CHECK_FALSE(response_matches(q, *r, error));
        CHECK(error == "write echo differs from the request");
        auto m = parse_response(hex("11 10 00 01 00 02 12 98"), error);
        REQUIRE(m);
        Request qm{0x11, fc::write_multiple_registers, 1, 2, {10, 258}, {}};
        CHECK(response_matches(qm, *m, error));
    }
    SECTION("broken frames are refused with a reason") {
        CHECK_FALSE(parse_response(hex("11 03 06 02 2B 00 00 00 64 C8 BB"), error));
        CHECK(error == "bad CRC");
        CHECK_FALSE(parse_response(hex("11 03 06 02 2B 00 00"), error));
        CHECK(error == "truncated frame");
        CHECK_FALSE(parse_response(hex("11 07 00 00"), error));
        CHECK(error == "unknown function code");
        auto odd = hex("11 03 03 00 00 00");
        append_crc(odd);
        CHECK_FALSE(parse_response(odd, error));
    }
    SECTION("mismatched answers") {
        auto r = parse_response(hex("11 03 06 02 2B 00 00 00 64 C8 BA"), error);
        REQUIRE(r);
        CHECK_FALSE(response_matches(Request{0x12, 3, 0x6B, 3, {}, {}}, *r, error));
        CHECK(error == "reply from the wrong unit");
        CHECK_FALSE(response_matches(Request{0x11, 4, 0x6B, 3, {}, {}}, *r, error));
        CHECK_FALSE(response_matches(Request{0x11, 3, 0x6B, 4, {}, {}}, *r, error));
    }
}

TEST_CASE("modbus exception names", "[modbus]") {
    CHECK(exception_name(1) == "ILLEGAL_FUNCTION");
    CHECK(exception_name(2) == "ILLEGAL_DATA_ADDRESS");
    CHECK(exception_name(3) == "ILLEGAL_DATA_VALUE");
    CHECK(exception_name(4) == "SERVER_DEVICE_FAILURE");
    CHECK(exception_name(6) == "SERVER_DEVICE_BUSY");
    CHECK(exception_name(0x0B) == "GATEWAY_TARGET_DEVICE_FAILED_TO_RESPOND");
    CHECK(exception_name(0x42) == "EXCEPTION_0x42");
}

TEST_CASE("modbus requests parse back, for the monitor", "[modbus]") {
    std::string error;
    auto q = parse_request(hex("11 10 00 01 00 02 04 00 0A 01 02 C6 F0"), error);
    REQUIRE(q);
    CHECK(q->function == fc::write_multiple_registers);
    CHECK(q->registers == std::vector<std::uint16_t>{10, 258});
    auto c = parse_request(frame(write_coils_request(0x11, 0x13, {true, false, true})), error);
    REQUIRE(c);
    CHECK(c->bits == std::vector<bool>{true, false, true});
    auto r = parse_request(hex("11 03 00 6B 00 03 76 87"), error);
    REQUIRE(r);
    CHECK(r->count == 3);
    auto zero = frame(read_request(1, Table::holding, 0, 0));
    CHECK_FALSE(parse_request(zero, error));
    auto too_many = frame(read_request(1, Table::holding, 0, 126));
    CHECK_FALSE(parse_request(too_many, error));
}

TEST_CASE("modbus PDUs carry no unit id and no CRC: the transport adds them", "[modbus]") {
    // Application Protocol 6.3 and 6.12 show PDUs alone; RTU wraps them with unit and CRC.
    CHECK(encode_request(read_request(0x11, Table::holding, 0x006B, 3)) == hex("03 00 6B 00 03"));
    CHECK(encode_request(write_request(0x11, Table::holding, 0x0001, {0x000A, 0x0102})) == hex("10 00 01 00 02 04 00 0A 01 02"));
    CHECK(encode_request(write_request(0x11, Table::coil, 0x00AC, {1})) == hex("05 00 AC FF 00"));
    struct Case {
        const char* pdu;
        bool response;
        PduSize::Status status;
        std::size_t length;
    };
    const Case cases[] = {
        {"", true, PduSize::need_more, 0},   {"03", true, PduSize::need_more, 0},
        {"03 06", true, PduSize::known, 8},  {"83", true, PduSize::known, 2},
        {"80", true, PduSize::invalid, 0},   {"10", true, PduSize::known, 5},
        {"03", false, PduSize::known, 5},    {"10 00 01 00 02", false, PduSize::need_more, 0},
        {"10 00 01 00 02 04", false, PduSize::known, 10}, {"2B", false, PduSize::invalid, 0},
    };
    for (const Case& c : cases) {
        CAPTURE(c.pdu, c.response);
        PduSize s = c.response ? response_pdu_size(hex(c.pdu)) : request_pdu_size(hex(c.pdu));
        CHECK(s.status == c.status);
        CHECK(s.length == c.length);
    }
    std::string error;
    auto r = decode_response(0x11, hex("03 06 02 2B 00 00 00 64"), error);
    REQUIRE(r);
    CHECK(r->unit == 0x11);
    CHECK(r->registers == std::vector<std::uint16_t>{555, 0, 100});
    // A PDU whose length disagrees with its function code is refused, not read past its end.
    CHECK_FALSE(decode_response(0x11, hex("03 06 02 2B"), error));
    CHECK_FALSE(decode_request(0x11, hex("10 00 01 00 02 04 00 0A"), error));
}

TEST_CASE("modbus rtu timing: t3.5 scales with the character time up to 19200 baud", "[modbus]") {
    using namespace std::chrono_literals;
    CHECK(timing(9600, 11, std::nullopt).t35 == 4010415ns);  // 3.5 x 11 bits at 9600 baud
    CHECK(timing(38400, 10, std::nullopt).t35 == 1750us);
    CHECK(timing(38400, 10, std::nullopt).silence == 1750us);
    CHECK(timing(38400, 10, 20ms).silence == 20ms);
    CHECK(timing(9600, 11, 1ms).silence == timing(9600, 11, std::nullopt).t35);  // a gap never shortens t3.5
    CHECK(timing(0, 0, std::nullopt).char_time == timing(9600, 11, std::nullopt).char_time);
}
