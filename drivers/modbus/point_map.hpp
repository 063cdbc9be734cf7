#pragma once
// The point map: which registers of which slave hold which measurement, and how to turn register
// words into a Value (and back, for writes).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/report_policy.hpp"
#include "core/config_node.hpp"
#include "core/reading.hpp"
#include "drivers/modbus/modbus_pdu.hpp"

namespace loopgate::modbus {

enum class DataType { boolean, int16, uint16, int32, uint32, int64, uint64, float32, float64, string };

// Order of the bytes of a multi-register value as they appear on the wire, naming the value's
// big-endian bytes A (most significant) to D. ABCD is the Modbus default (big-endian words, most
// significant word first); CDAB swaps words, BADC swaps bytes in each word, DCBA does both. For
// 64-bit values the same two swaps apply to all four words (CDAB = least significant word first).
enum class WordOrder { ABCD, CDAB, BADC, DCBA };

const char* data_type_name(DataType t);
const char* word_order_name(WordOrder o);

struct Point {
    std::string name;
    Table table = Table::holding;
    std::uint16_t address = 0;  // 0-based protocol address
    DataType type = DataType::uint16;
    WordOrder order = WordOrder::ABCD;
    std::uint16_t length = 1;   // registers for string; derived for the other types
    int bit = -1;               // 0..15: the point is one bit of a register
    double scale = 1.0;
    double offset = 0.0;
    std::string unit;
    ReportPolicy report;        // deadband, report_on_change, max_silence, min_interval: the report stage's
    bool writable = false;
    std::optional<double> min, max;  // write limits, in engineering units

    // Registers (or bits, in the bit tables) the point occupies.
    std::uint16_t count() const;
    bool scaled() const { return scale != 1.0 || offset != 0.0; }
};

struct Device {
    std::string name;
    std::uint8_t unit = 1;        // 0 for a broadcast-only device
    bool broadcast = false;
    std::int64_t poll_interval_ms = 1000;
    std::uint16_t max_registers = kMaxReadRegisters;  // per request, for slaves with smaller buffers
    std::uint16_t max_bits = kMaxReadBits;
    std::vector<Point> points;
};

// Which unit ids a transport addresses and whether it has a broadcast. A serial line has 1..247 and
// unit 0 for every slave; Modbus TCP has 0..255 (255 or 0 for a device that is no gateway, Messaging
// on TCP/IP Implementation Guide 4.4.1.1) and no broadcast.
struct UnitRules {
    int min_unit = 1;
    int max_unit = 247;
    bool broadcast = true;
};
constexpr UnitRules kSerialUnits{};
constexpr UnitRules kTcpUnits{0, 255, false};

// Parses and validates the port's `devices` list. Throws ConfigError at the offending node.
std::vector<Device> parse_devices(const ConfigNode& devices, UnitRules units = kSerialUnits);

// Parses a 5- or 6-digit reference such as 40001 (holding 0) or 300201 (input 200); the leading
// digit names the table (0 coil, 1 discrete input, 3 input, 4 holding), the rest is 1-based.
// Returns an error text when the reference is malformed.
struct Reference {
    Table table;
    std::uint16_t address;
};
std::optional<Reference> parse_reference(const std::string& text, std::string& error);

// Turns the point's registers (exactly point.count() words, in wire order) into its value with scale
// and offset applied. Integers stay integers unless scaled. Non-finite floats give `bad` with a reason.
struct Decoded {
    Value value;
    Quality quality = Quality::good;
    std::string reason;
};
Decoded decode_registers(const Point& p, std::span<const std::uint16_t> words);
Decoded decode_bit(const Point& p, bool bit);

// The value a point shows when no good value was ever read (bad-quality readings need one).
Value zero_value(const Point& p);

// Converts a written value to register words (or, for coils, the bit in words[0]) after the range
// check; on failure returns nothing and sets `error`.
std::optional<std::vector<std::uint16_t>> encode_for_write(const Point& p, const Value& v, std::string& error);

}  // namespace loopgate::modbus
