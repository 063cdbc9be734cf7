// The M-Bus link and application layers, table by table, with records written as EN 13757-3
// prints them (DIF DIFE.. VIF VIFE.. data, least significant byte first).

#include <catch2/catch.hpp>

#include "../hex_bytes.hpp"
#include "drivers/mbus/mbus_frame.hpp"
#include "drivers/mbus/mbus_readings.hpp"
#include "drivers/mbus/mbus_record.hpp"

using namespace loopgate;
using namespace loopgate::mbus;

namespace {

// A CI 72h header: identification 12345678, manufacturer "ABC" (0x0443), version 1, medium water.
const std::string kHeader = "78 56 34 12 43 04 01 07 2A 00 00 00 ";

Telegram decode_ok(const std::string& records) {
    auto bytes = hex(kHeader + records);
    auto r = decode_user_data(0x72, bytes);
    INFO(r.error);
    REQUIRE(r.telegram);
    return *r.telegram;
}

double number(const Record& r) {
    REQUIRE(r.value);
    if (auto d = std::get_if<double>(&*r.value)) return *d;
    return static_cast<double>(std::get<std::int64_t>(*r.value));
}

}  // namespace

TEST_CASE("mbus frame: short, long and single-character frames are delimited and checked", "[mbus]") {
    CHECK(build_short(kSndNke, 5) == hex("10 40 05 45 16"));
    CHECK(build_short(kReqUd2 | kFcb, 0xFE) == hex("10 7B FE 79 16"));
    auto sel = build_select_secondary("1234567F");
    CHECK(sel == hex("68 0B 0B 68 53 FD 52 7F 56 34 12 FF FF FF FF B9 16"));
    CHECK(scan_frame(hex("E5")).status == FrameScan::complete);
    CHECK(scan_frame(hex("10 40 05 45 16")).length == 5);
    CHECK(scan_frame(hex("10 40 05 46 16")).status == FrameScan::invalid);  // checksum
    CHECK(scan_frame(hex("68 03 03 68 53 FD")).status == FrameScan::need_more);
    CHECK(scan_frame(hex("68 03 04 68")).status == FrameScan::invalid);  // L fields differ
    CHECK(scan_frame(hex("68 02 02 68")).status == FrameScan::invalid);  // shorter than C A CI
    auto frame = build_long(kRspUd, 1, 0x72, hex(kHeader));
    auto scan = scan_frame(frame);
    REQUIRE(scan.status == FrameScan::complete);
    Frame f = parse_frame(frame);
    CHECK(f.kind == FrameKind::long_frame);
    CHECK(f.ci == 0x72);
    CHECK(f.data.size() == 12);
    frame[frame.size() - 1] = 0x17;  // stop byte
    CHECK(scan_frame(frame).status == FrameScan::invalid);
}

TEST_CASE("mbus record: data field types of EN 13757-3 table 4", "[mbus]") {
    // int8..int64 are signed (type B); real32; BCD with F as the sign digit (type A).
    auto t = decode_ok(
        "01 13 FE "                      // int8  -2 l
        "02 13 00 80 "                   // int16 -32768 l
        "03 13 01 00 80 "                // int24 -8388607 l
        "04 13 FF FF FF 7F "             // int32
        "05 13 00 00 C0 3F "             // real 1.5 l
        "06 13 01 00 00 00 00 00 "       // int48
        "07 13 FF FF FF FF FF FF FF FF " // int64 -1
        "0C 13 78 56 34 12 "             // BCD8 12345678
        "0A 13 21 F3 "                   // BCD4 with sign digit: -321
        "0D 13 C2 34 12 "                // LVAR C2h: positive BCD, 2 bytes: 1234
        "0D 13 D1 05 "                   // LVAR D1h: negative BCD: -5
        "0D 13 E1 FF "                   // LVAR E1h: 1-byte binary: -1
        "0D FD 11 03 43 42 41 "          // LVAR 3: text, last character first: "ABC"
    );
    REQUIRE(t.records.size() == 13);
    CHECK(number(t.records[0]) == Approx(-0.002));
    CHECK(number(t.records[1]) == Approx(-32.768));
    CHECK(number(t.records[2]) == Approx(-8388.607));
    CHECK(number(t.records[3]) == Approx(2147483.647));
    CHECK(number(t.records[4]) == Approx(0.0015));
    CHECK(number(t.records[5]) == Approx(0.001));
    CHECK(number(t.records[6]) == Approx(-0.001));
    CHECK(number(t.records[7]) == Approx(12345.678));
    CHECK(number(t.records[8]) == Approx(-0.321));
    CHECK(number(t.records[9]) == Approx(1.234));
    CHECK(number(t.records[10]) == Approx(-0.005));
    CHECK(number(t.records[11]) == Approx(-0.001));
    CHECK(std::get<std::string>(*t.records[12].value) == "ABC");
    CHECK(t.records[12].meaning.metric == "customer");
    for (const Record& r : t.records) CHECK(r.invalid.empty());
}

TEST_CASE("mbus record: BCD error-fill digits make a bad value, not a number", "[mbus]") {
    auto t = decode_ok("0C 13 AA AA AA AA");
    REQUIRE(t.records.size() == 1);
    CHECK_FALSE(t.records[0].invalid.empty());
    Reading r;
    fill_reading(t.records[0], r);
    CHECK(r.quality == Quality::bad);
}

TEST_CASE("mbus record: storage number, tariff and subunit from DIF and DIFEs name the metric", "[mbus]") {
    auto t = decode_ok(
        "04 06 01 00 00 00 "        // energy kWh, storage 0
        "44 06 02 00 00 00 "        // storage 1 (DIF bit 6)
        "84 10 06 03 00 00 00 "     // DIFE tariff 1
        "C4 81 40 06 04 00 00 00 "  // storage 1 + 2*... : DIFE1 storage bits 1, DIFE2 subunit bit 1
        "94 00 06 05 00 00 00 "     // function maximum (DIF 10h), one DIFE 00h
        "04 06 06 00 00 00 "        // the same quantity again
    );
    REQUIRE(t.records.size() == 6);
    auto names = record_metrics(t);
    CHECK(names[0] == "energy");
    CHECK(names[1] == "energy_s1");
    CHECK(names[2] == "energy_t1");
    CHECK(t.records[3].storage == 3);
    CHECK(t.records[3].subunit == 2);
    CHECK(names[3] == "energy_s3_u2");
    CHECK(names[4] == "energy_max");
    CHECK(names[5] == "energy_2");
    CHECK(number(t.records[0]) == 1000.0);
    CHECK(t.records[0].meaning.unit == "Wh");
}

TEST_CASE("mbus record: VIF table entries come out in base units", "[mbus]") {
    struct Row {
        const char* record;
        const char* metric;
        const char* unit;
        double value;
    };
    const Row rows[] = {
        {"02 07 01 00", "energy", "Wh", 10000},              // 10 kWh
        {"02 0E 02 00", "energy", "J", 2e6},                  // MJ
        {"02 13 03 00", "volume", "m3", 0.003},               // l
        {"02 1B 04 00", "mass", "kg", 4},
        {"02 22 05 00", "on_time", "s", 5 * 3600},
        {"02 27 06 00", "operating_time", "s", 6 * 86400},
        {"02 2E 07 00", "power", "W", 7000},
        {"02 33 10 0E", "power", "W", 1000},                  // 3600 kJ/h
        {"02 3B 08 00", "volume_flow", "m3/h", 0.008},
        {"02 46 01 00", "volume_flow", "m3/h", 6},            // 0.1 m3/min
        {"02 5A 0A 00", "flow_temperature", "degC", 1.0},
        {"02 5F 0B 00", "return_temperature", "degC", 11},
        {"02 61 0C 00", "temperature_difference", "K", 0.12},
        {"02 66 0D 00", "external_temperature", "degC", 1.3},
        {"02 69 0E 00", "pressure", "bar", 0.14},
        {"02 6E 0F 00", "hca", "HCA", 15},
        {"02 71 10 00", "averaging_duration", "s", 16 * 60},
        {"02 74 11 00", "actuality_duration", "s", 17},
        {"02 FD 48 E8 03", "voltage", "V", 100},
        {"02 FD 59 0A 00", "current", "A", 0.01},
        {"02 FB 00 03 00", "energy", "Wh", 3e5},              // 0.1 MWh
        {"02 FB 29 02 00", "power", "W", 2e6},                // MW
        {"02 93 7B 64 00", "volume", "m3", 0.1 + 0.001},      // additive correction 10^0 l
        {"02 93 75 64 00", "volume", "m3", 0.1 * 0.1},        // multiplicative 10^-1
        {"02 93 28 01 00", "volume_per_input_pulse_0", "m3", 0.001},
        {"02 A2 61 05 00", "on_time_first_duration", "s", 5 * 60},
        {"02 AB 55 02 00", "power_last_lower_limit_exceed_duration", "s", 120},
    };
    for (const Row& row : rows) {
        INFO(row.record);
        auto t = decode_ok(row.record);
        REQUIRE(t.records.size() == 1);
        CHECK(t.records[0].meaning.metric == row.metric);
        CHECK(t.records[0].meaning.unit == row.unit);
        CHECK(number(t.records[0]) == Approx(row.value));
    }
}

TEST_CASE("mbus record: dates and times as ISO 8601 text", "[mbus]") {
    auto t = decode_ok(
        "02 6C 1F 1C "           // type G: 31.12.2008 -> day 31, month 12, year 08
        "04 6D 32 37 1F 15 "     // type F
        "84 00 6D 80 00 00 00 "  // type F with minute bit 7 = invalid
        "02 AC 6E 3F 1C "        // date of the first begin of ... (VIFE 6Eh): a time point, no unit
    );
    REQUIRE(t.records.size() == 4);
    CHECK(std::get<std::string>(*t.records[0].value) == "2008-12-31");
    CHECK(std::get<std::string>(*t.records[1].value) == "2008-05-31T23:50");
    CHECK_FALSE(t.records[2].invalid.empty());
    CHECK(t.records[3].meaning.kind == VifKind::time_point);
    CHECK(t.records[3].meaning.unit.empty());
}

TEST_CASE("mbus record: plain-text VIF gives its own unit, manufacturer data is counted", "[mbus]") {
    auto t = decode_ok("02 FC 03 48 52 25 74 D4 11 04 FF 22 01 02 03 04 0F 01 02 03");
    REQUIRE(t.records.size() == 2);
    CHECK(t.records[0].meaning.unit == "%RH");
    CHECK(number(t.records[0]) == Approx(45.64));
    CHECK_FALSE(reportable(t.records[1]));  // VIF FFh: the manufacturer's
    CHECK(t.manufacturer_records == 1);
    CHECK(t.manufacturer_bytes == 3);
    CHECK_FALSE(t.more_records_follow);
    CHECK(decode_ok("1F").more_records_follow);
}

TEST_CASE("mbus record: a malformed record rejects the whole telegram", "[mbus]") {
    const char* bad[] = {
        "04 13 01 02 03",                                   // data cut short
        "84",                                               // ends in the DIFEs
        "84 80 80 80 80 80 80 80 80 80 80 00 13 00 00 00 00",  // eleven DIFEs
        "04 93 80 80 80 80 80 80 80 80 80 80 00 00 00 00 00",  // eleven VIFEs
        "0D 13 F7",                                         // reserved LVAR
        "3F 13",                                            // reserved DIF
        "02 FC 09 41",                                      // plain text cut short
    };
    for (const char* records : bad) {
        INFO(records);
        auto bytes = hex(kHeader + "04 13 01 00 00 00 " + records);
        auto r = decode_user_data(0x72, bytes);
        CHECK_FALSE(r.telegram);
        CHECK_FALSE(r.error.empty());
    }
}

TEST_CASE("mbus record: the device is named by the identification number, most significant digit first", "[mbus]") {
    CHECK(id_digits(hex("78 56 34 12")) == "12345678");
    CHECK(id_digits(hex("01 00 00 00")) == "00000001");
    CHECK(id_digits(hex("3E 02 00 05")) == "0500023E");
    auto t = decode_ok("");
    CHECK(device_name(t, "x") == "mbus-12345678");
    CHECK(t.header.manufacturer == "ABC");
    auto short_header = decode_user_data(0x7A, hex("01 00 00 00 04 13 01 00 00 00"));
    REQUIRE(short_header.telegram);
    CHECK(device_name(*short_header.telegram, "mbus-a5") == "mbus-a5");
}

TEST_CASE("mbus record: fixed data structure (CI 73h) in base units", "[mbus]") {
    // id 12345678, access 10, status 00 (BCD, actual), medium heat, units kWh and l.
    auto r = decode_user_data(0x73, hex("78 56 34 12 0A 00 05 69 31 65 00 00 69 00 00 00"));
    REQUIRE(r.telegram);
    REQUIRE(r.telegram->records.size() == 2);
    CHECK(number(r.telegram->records[0]) == 6531000.0);
    CHECK(r.telegram->records[0].meaning.unit == "Wh");
    CHECK(number(r.telegram->records[1]) == Approx(0.069));
    CHECK(r.telegram->records[1].meaning.unit == "m3");
}
