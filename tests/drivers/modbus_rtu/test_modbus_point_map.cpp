// The point map: register words <-> values for every data type and word order, the 0-based address
// and 5/6-digit reference notations, and the config validation errors operators see.
#include <catch2/catch.hpp>

#include <cmath>
#include <cstring>

#include "drivers/modbus/point_map.hpp"
#include "drivers/modbus/poll_scheduler.hpp"

using namespace loopgate;
using namespace loopgate::modbus;

namespace {

Point point(DataType type, WordOrder order = WordOrder::ABCD) {
    Point p;
    p.name = "p";
    p.table = Table::holding;
    p.type = type;
    p.order = order;
    p.length = type == DataType::int32 || type == DataType::uint32 || type == DataType::float32   ? 2
               : type == DataType::int64 || type == DataType::uint64 || type == DataType::float64 ? 4
                                                                                                  : 1;
    return p;
}

std::vector<Device> devices_from(const std::string& yaml) {
    return parse_devices(ConfigNode::load_string(yaml, "test.yaml")["devices"]);
}

std::string config_error(const std::string& yaml) {
    try {
        devices_from(yaml);
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "(no error)";
}

std::uint32_t f32(float f) {
    std::uint32_t u;
    std::memcpy(&u, &f, 4);
    return u;
}

std::uint64_t f64(double d) {
    std::uint64_t u;
    std::memcpy(&u, &d, 8);
    return u;
}

}  // namespace

TEST_CASE("modbus 32-bit values in all four word orders", "[modbus]") {
    // The value's big-endian bytes are A B C D = 01 02 03 04.
    struct Case {
        WordOrder order;
        std::vector<std::uint16_t> words;
    };
    const Case cases[] = {
        {WordOrder::ABCD, {0x0102, 0x0304}},
        {WordOrder::CDAB, {0x0304, 0x0102}},
        {WordOrder::BADC, {0x0201, 0x0403}},
        {WordOrder::DCBA, {0x0403, 0x0201}},
    };
    for (const Case& c : cases) {
        CAPTURE(word_order_name(c.order));
        CHECK(decode_registers(point(DataType::uint32, c.order), c.words).value == Value{std::int64_t{0x01020304}});
        CHECK(decode_registers(point(DataType::int32, c.order), c.words).value == Value{std::int64_t{0x01020304}});
        Point w = point(DataType::uint32, c.order);
        w.writable = true;
        std::string error;
        CHECK(encode_for_write(w, Value{std::int64_t{0x01020304}}, error) == c.words);
    }
}

TEST_CASE("modbus every data type decodes and round-trips", "[modbus]") {
    const std::uint32_t pi = f32(3.14159f);
    const std::uint64_t e = f64(-2.718281828459045);
    struct Case {
        DataType type;
        WordOrder order;
        std::vector<std::uint16_t> words;
        Value expect;
    };
    const Case cases[] = {
        {DataType::int16, WordOrder::ABCD, {0xFF85}, std::int64_t{-123}},
        {DataType::int16, WordOrder::BADC, {0x85FF}, std::int64_t{-123}},
        {DataType::int16, WordOrder::CDAB, {0xFF85}, std::int64_t{-123}},  // one word: no word swap
        {DataType::int16, WordOrder::DCBA, {0x85FF}, std::int64_t{-123}},
        {DataType::uint16, WordOrder::ABCD, {0xFF85}, std::int64_t{65413}},
        {DataType::int32, WordOrder::ABCD, {0xFFFE, 0x1DC0}, std::int64_t{-123456}},
        {DataType::int32, WordOrder::CDAB, {0x1DC0, 0xFFFE}, std::int64_t{-123456}},
        {DataType::uint32, WordOrder::ABCD, {0xFFFF, 0xFFFF}, std::int64_t{4294967295}},
        {DataType::int64, WordOrder::ABCD, {0xFFFF, 0xFFFF, 0xFFFF, 0xFFFE}, std::int64_t{-2}},
        {DataType::int64, WordOrder::CDAB, {0xFFFE, 0xFFFF, 0xFFFF, 0xFFFF}, std::int64_t{-2}},
        {DataType::int64, WordOrder::BADC, {0xFFFF, 0xFFFF, 0xFFFF, 0xFEFF}, std::int64_t{-2}},
        {DataType::int64, WordOrder::DCBA, {0xFEFF, 0xFFFF, 0xFFFF, 0xFFFF}, std::int64_t{-2}},
        {DataType::uint64, WordOrder::ABCD, {0x0001, 0x0203, 0x0405, 0x0607}, std::int64_t{0x0001020304050607}},
        {DataType::uint64, WordOrder::DCBA, {0x0706, 0x0504, 0x0302, 0x0100}, std::int64_t{0x0001020304050607}},
        {DataType::uint64, WordOrder::ABCD, {0xFFFF, 0xFFFF, 0xFFFF, 0xF800}, 18446744073709549568.0},  // beyond int64: a double
        {DataType::float32, WordOrder::ABCD, {std::uint16_t(pi >> 16), std::uint16_t(pi)}, double(3.14159f)},
        {DataType::float32, WordOrder::CDAB, {std::uint16_t(pi), std::uint16_t(pi >> 16)}, double(3.14159f)},
        {DataType::float32, WordOrder::BADC,
         {std::uint16_t(((pi >> 8) & 0xFF00) | (pi >> 24)), std::uint16_t(((pi << 8) & 0xFF00) | ((pi >> 8) & 0xFF))},
         double(3.14159f)},
        {DataType::float64, WordOrder::ABCD,
         {std::uint16_t(e >> 48), std::uint16_t(e >> 32), std::uint16_t(e >> 16), std::uint16_t(e)},
         -2.718281828459045},
        {DataType::float64, WordOrder::CDAB,
         {std::uint16_t(e), std::uint16_t(e >> 16), std::uint16_t(e >> 32), std::uint16_t(e >> 48)},
         -2.718281828459045},
    };
    for (const Case& c : cases) {
        CAPTURE(data_type_name(c.type), word_order_name(c.order), c.words);
        Decoded d = decode_registers(point(c.type, c.order), c.words);
        CHECK(d.quality == Quality::good);
        CHECK(d.value == c.expect);
        Point w = point(c.type, c.order);
        w.writable = true;
        std::string error;
        auto back = encode_for_write(w, c.expect, error);
        INFO(error);
        REQUIRE(back);
        CHECK(*back == c.words);
    }
}

TEST_CASE("modbus strings, bits, scale and offset", "[modbus]") {
    Point s = point(DataType::string);
    s.length = 4;
    CHECK(decode_registers(s, std::vector<std::uint16_t>{0x5344, 0x4D36, 0x3330, 0x0000}).value == Value{std::string("SDM630")});
    s.order = WordOrder::BADC;
    CHECK(decode_registers(s, std::vector<std::uint16_t>{0x4453, 0x364D, 0x2020, 0x2020}).value == Value{std::string("SDM6")});
    s.writable = true;
    std::string error;
    CHECK(encode_for_write(s, Value{std::string("SDM6")}, error) == std::vector<std::uint16_t>{0x4453, 0x364D, 0, 0});
    CHECK_FALSE(encode_for_write(s, Value{std::string("123456789")}, error));
    CHECK(error == "point 'p' holds at most 8 characters");

    Point b = point(DataType::boolean);
    b.bit = 15;
    CHECK(decode_registers(b, std::vector<std::uint16_t>{0x8000}).value == Value{true});
    b.bit = 0;
    CHECK(decode_registers(b, std::vector<std::uint16_t>{0x8000}).value == Value{false});

    Point t = point(DataType::int16);
    t.scale = 0.1;
    t.offset = -40;
    Decoded d = decode_registers(t, std::vector<std::uint16_t>{625});
    REQUIRE(std::holds_alternative<double>(d.value));
    CHECK(std::get<double>(d.value) == Approx(22.5));
    t.writable = true;
    t.min = -40;
    t.max = 80;
    CHECK(encode_for_write(t, Value{22.5}, error) == std::vector<std::uint16_t>{625});
    CHECK_FALSE(encode_for_write(t, Value{81.0}, error));
    CHECK(error == "point 'p' accepts -40..80, got 81");

    Point nan = point(DataType::float32);
    Decoded n = decode_registers(nan, std::vector<std::uint16_t>{0x7FC0, 0x0000});
    CHECK(n.quality == Quality::bad);
    CHECK(n.reason == "not a finite number");
}

TEST_CASE("modbus writes check type and range", "[modbus]") {
    std::string error;
    Point ro = point(DataType::int16);
    CHECK_FALSE(encode_for_write(ro, Value{std::int64_t{1}}, error));
    CHECK(error == "point 'p' is not writable");

    Point i16 = point(DataType::int16);
    i16.writable = true;
    CHECK(encode_for_write(i16, Value{std::int64_t{-1}}, error) == std::vector<std::uint16_t>{0xFFFF});
    CHECK_FALSE(encode_for_write(i16, Value{std::int64_t{40000}}, error));
    CHECK(error == "point 'p' value 40000 is out of range for int16");
    CHECK_FALSE(encode_for_write(i16, Value{1.5}, error));
    CHECK(error == "point 'p' is an integer and expects a whole number, got 1.5");
    CHECK_FALSE(encode_for_write(i16, Value{true}, error));
    CHECK(encode_for_write(i16, Value{std::string("42")}, error) == std::vector<std::uint16_t>{42});
    CHECK_FALSE(encode_for_write(i16, Value{std::string("4x2")}, error));

    Point u16 = point(DataType::uint16);
    u16.writable = true;
    CHECK_FALSE(encode_for_write(u16, Value{std::int64_t{-1}}, error));

    Point coil;
    coil.name = "c";
    coil.table = Table::coil;
    coil.type = DataType::boolean;
    coil.writable = true;
    CHECK(encode_for_write(coil, Value{true}, error) == std::vector<std::uint16_t>{1});
    CHECK(encode_for_write(coil, Value{std::int64_t{0}}, error) == std::vector<std::uint16_t>{0});
    CHECK_FALSE(encode_for_write(coil, Value{2.0}, error));
    CHECK(error == "point 'c' is a coil and expects true or false");

    Point f = point(DataType::float32);
    f.writable = true;
    CHECK_FALSE(encode_for_write(f, Value{1e300}, error));
}

TEST_CASE("modbus register references: 0-based addresses and 5/6-digit notation", "[modbus]") {
    struct Case {
        const char* ref;
        Table table;
        std::uint16_t address;
    };
    const Case cases[] = {
        {"40001", Table::holding, 0},        {"40010", Table::holding, 9},
        {"49999", Table::holding, 9998},     {"30001", Table::input, 0},
        {"10001", Table::discrete_input, 0}, {"00001", Table::coil, 0},
        {"00010", Table::coil, 9},           {"400001", Table::holding, 0},
        {"465536", Table::holding, 65535},   {"300201", Table::input, 200},
    };
    for (const Case& c : cases) {
        CAPTURE(c.ref);
        std::string error;
        auto r = parse_reference(c.ref, error);
        REQUIRE(r);
        CHECK(r->table == c.table);
        CHECK(r->address == c.address);
    }
    for (const char* bad : {"40000", "4001", "465537", "20001", "4000x", "", "-40001", "4000001"}) {
        CAPTURE(bad);
        std::string error;
        CHECK_FALSE(parse_reference(bad, error));
        CHECK_FALSE(error.empty());
    }
}

TEST_CASE("modbus device config parses", "[modbus]") {
    auto devices = devices_from(R"(
devices:
  - name: meter1
    unit: 1
    poll_interval: 2s
    points:
      - {name: voltage_l1, table: input, address: 0, type: float32, word_order: CDAB, unit: V}
      - {name: setpoint, ref: 40010, type: int16, writable: true, min: 0, max: 1000}
      - {name: alarm, ref: 40011, bit: 3}
      - {name: pump, ref: 00001, writable: true}
      - {name: serial, table: holding, address: 0x100, type: string, length: 8}
      - {name: energy, ref: 300073, type: uint32, scale: 0.01, deadband: 0.5}
  - name: meter2
    unit: 247
    points:
      - {name: v, table: holding, address: 65535}
)");
    REQUIRE(devices.size() == 2);
    const Device& d = devices[0];
    CHECK(d.poll_interval_ms == 2000);
    REQUIRE(d.points.size() == 6);
    CHECK(d.points[0].order == WordOrder::CDAB);
    CHECK(d.points[0].count() == 2);
    CHECK(d.points[1].table == Table::holding);
    CHECK(d.points[1].address == 9);
    CHECK(d.points[1].writable);
    CHECK(*d.points[1].max == 1000);
    CHECK(d.points[2].bit == 3);
    CHECK(d.points[2].type == DataType::boolean);
    CHECK(d.points[3].table == Table::coil);
    CHECK(d.points[3].address == 0);
    CHECK(d.points[4].address == 256);
    CHECK(d.points[4].count() == 8);
    CHECK(d.points[5].table == Table::input);
    CHECK(d.points[5].address == 72);
    CHECK(devices[1].poll_interval_ms == 1000);
}

TEST_CASE("modbus device config errors are precise", "[modbus]") {
    struct Case {
        const char* yaml;
        const char* expect;
    };
    const Case cases[] = {
        {"devices:\n  - {name: m, unit: 0, points: [{name: a, ref: 40001}]}\n",
         "test.yaml:2:21: devices[0].unit: expected an integer from 1 to 247, got 0"},
        {"devices:\n  - {name: m, unit: 248, points: [{name: a, ref: 40001}]}\n", "expected an integer from 1 to 247, got 248"},
        {"devices:\n  - name: m\n    unit: 1\n    points:\n      - {name: a, ref: 40001}\n      - {name: a, ref: 40002}\n",
         "test.yaml:6:16: devices[0].points[1].name: duplicate point name 'a' in device 'm'"},
        {"devices:\n  - name: m\n    unit: 1\n    points:\n      - {name: a, table: holding, address: 65534, type: float32, word_order: ABCD}\n"
         "      - {name: b, table: holding, address: 65535, type: int32}\n",
         "register range 65535..65536 overflows 65535"},
        {"devices:\n  - name: m\n    unit: 1\n    points:\n      - {name: a, table: holding, adress: 1}\n",
         "unknown key 'adress' (did you mean 'address'?)"},
        {"devices:\n  - {name: m, unit: 1, pol_interval: 1s, points: [{name: a, ref: 40001}]}\n", "unknown key 'pol_interval'"},
        {"devices:\n  - {name: m, unit: 1, points: [{name: a, ref: 40001, table: input}]}\n",
         "table contradicts ref 40001, which is in the holding table"},
        {"devices:\n  - {name: m, unit: 1, points: [{name: a, ref: 40001, address: 0}]}\n", "give either address"},
        {"devices:\n  - {name: m, unit: 1, points: [{name: a, table: holding}]}\n", "needs an address"},
        {"devices:\n  - {name: m, unit: 1, points: [{name: a, ref: 40001, type: bool}]}\n", "need bit: 0..15"},
        {"devices:\n  - {name: m, unit: 1, points: [{name: a, ref: 30001, writable: true}]}\n", "the input table is read-only"},
        {"devices:\n  - {name: m, unit: 1, points: [{name: a, ref: 40001, bit: 2, writable: true}]}\n", "bit points cannot be written"},
        {"devices:\n  - {name: m, unit: 1, points: [{name: a, ref: 40001, min: 0}]}\n", "min limits writes; set writable: true"},
        {"devices:\n  - {name: m, unit: 1, points: [{name: a, ref: 00001, type: int16}]}\n", "points in the coil table are bool"},
        {"devices:\n  - {name: m, unit: 1, points: [{name: a, ref: 40001, type: string}]}\n", "devices[0].points[0].length: required field is missing"},
        {"devices:\n  - {name: m, unit: 1, points: [{name: a, ref: 40001, length: 3}]}\n", "length (in registers) applies to string points only"},
        {"devices:\n  - {name: m, unit: 1, points: [{name: a, ref: 40001, type: float32, word_order: ADBC}]}\n",
         "expected one of ABCD, CDAB, BADC, DCBA, got 'ADBC'"},
        {"devices:\n  - {name: m, unit: 1, points: [{name: a, ref: 40001, type: int16, scale: 0}]}\n", "scale must not be 0"},
        {"devices:\n  - {name: m, unit: 1, points: [{name: online, ref: 40001}]}\n", "'online' is reserved"},
        {"devices:\n  - {name: m, unit: 1, points: [{name: 'a/b', ref: 40001}]}\n", "devices[0].points[0].name"},
        {"devices:\n  - {name: m, unit: 1, points: [{name: a, ref: 99999}]}\n", "must start with 0 (coil), 1 (discrete input), 3 (input) or 4 (holding)"},
        {"devices:\n  - {name: m, unit: 1, points: [{name: a, ref: 40001}]}\n  - {name: n, unit: 1, points: [{name: a, ref: 40001}]}\n",
         "unit 1 is already used by another device on this port"},
        {"devices:\n  - {name: m, unit: 1, points: [{name: a, ref: 40001}]}\n  - {name: m, unit: 2, points: [{name: a, ref: 40001}]}\n",
         "duplicate device name 'm'"},
        {"devices:\n  - {name: m, unit: 1, points: []}\n", "list at least one point"},
        {"devices:\n  - {name: m, unit: 1, max_registers: 10, points: [{name: a, ref: 40001, type: string, length: 20}]}\n",
         "more than one request may read (10)"},
        {"devices:\n  - {name: m, unit: 1, poll_interval: 1ms, points: [{name: a, ref: 40001}]}\n", "poll_interval must be between 10ms and 1d"},
        {"devices:\n  - {name: b, broadcast: true, unit: 3, points: [{name: a, ref: 40001, writable: true}]}\n", "a broadcast device has no unit"},
        {"devices:\n  - {name: b, broadcast: true, points: [{name: a, ref: 40001}]}\n", "points of a broadcast device must be writable"},
    };
    for (const Case& c : cases) {
        CAPTURE(c.yaml);
        CHECK_THAT(config_error(c.yaml), Catch::Contains(c.expect));
    }
}

TEST_CASE("modbus scheduler merges neighbouring registers within the limits", "[modbus]") {
    auto devices = devices_from(R"(
devices:
  - name: m
    unit: 1
    points:
      - {name: a, table: holding, address: 0}
      - {name: b, table: holding, address: 1, type: float32}
      - {name: c, table: holding, address: 13}          # gap of 10 after b: merges
      - {name: d, table: holding, address: 25}          # gap of 11 after c: new block
      - {name: e, table: input, address: 0}
      - {name: f, table: coil, address: 0}
      - {name: g, table: coil, address: 100}
      - {name: h, table: holding, address: 130, type: string, length: 100}  # would pass 125 with d: new block
      - {name: i, table: holding, address: 229}
)");
    auto blocks = plan_blocks(devices[0], 0, 10, 64);
    REQUIRE(blocks.size() == 6);
    CHECK(blocks[0].table == Table::coil);
    CHECK(blocks[0].count == 1);
    CHECK(blocks[1].table == Table::coil);
    CHECK(blocks[1].address == 100);
    CHECK(blocks[2].table == Table::holding);
    CHECK(blocks[2].address == 0);
    CHECK(blocks[2].count == 14);
    CHECK(blocks[2].points.size() == 3);
    CHECK(blocks[3].address == 25);
    CHECK(blocks[3].count == 1);
    CHECK(blocks[4].address == 130);
    CHECK(blocks[4].count == 100);
    CHECK(blocks[4].points.size() == 2);  // i at 229 ends the block at 230 = 100 registers
    CHECK(blocks[5].table == Table::input);

    auto tight = plan_blocks(devices[0], 0, 0, 0);
    CHECK(tight.size() == 7);  // overlapping points still share a block
    auto wide = plan_blocks(devices[0], 0, 124, 1999);
    CHECK(wide.size() == 4);  // coils 0..100; holding 0..25 and 130..229 (one would pass 125); input
}
