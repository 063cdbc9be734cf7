#pragma once
// Modbus RTU application data units: building requests, sizing and parsing responses.
//
// Pure functions over byte spans. An ADU here is the whole serial frame: unit id, function code,
// data and the CRC. Sizes follow the Modbus Application Protocol V1.1b3 (6.1-6.12).

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace loopgate::modbus {

enum class Table : std::uint8_t { coil, discrete_input, holding, input };

const char* table_name(Table t);  // the config word: coil, discrete_input, holding, input
inline bool is_bit_table(Table t) { return t == Table::coil || t == Table::discrete_input; }

namespace fc {
constexpr std::uint8_t read_coils = 0x01;
constexpr std::uint8_t read_discrete_inputs = 0x02;
constexpr std::uint8_t read_holding_registers = 0x03;
constexpr std::uint8_t read_input_registers = 0x04;
constexpr std::uint8_t write_single_coil = 0x05;
constexpr std::uint8_t write_single_register = 0x06;
constexpr std::uint8_t write_multiple_coils = 0x0F;
constexpr std::uint8_t write_multiple_registers = 0x10;
}  // namespace fc

// Protocol limits on the quantity one request may carry.
constexpr std::uint16_t kMaxReadRegisters = 125;
constexpr std::uint16_t kMaxReadBits = 2000;
constexpr std::uint16_t kMaxWriteRegisters = 123;
constexpr std::uint16_t kMaxWriteCoils = 1968;
constexpr std::uint8_t kBroadcastUnit = 0;
constexpr std::uint8_t kMaxUnit = 247;  // 248-255 are reserved

std::uint8_t read_function(Table t);
// The table a read or write function code addresses; none for other codes.
std::optional<Table> table_of_function(std::uint8_t function);

// Exception code -> its name in the spec (ILLEGAL_DATA_ADDRESS...); unknown codes -> EXCEPTION_0xNN.
std::string exception_name(std::uint8_t code);

// --- requests (master side) ----------------------------------------------------------------------
std::vector<std::uint8_t> build_read_request(std::uint8_t unit, Table table, std::uint16_t address, std::uint16_t count);
std::vector<std::uint8_t> build_write_single_coil(std::uint8_t unit, std::uint16_t address, bool on);
std::vector<std::uint8_t> build_write_single_register(std::uint8_t unit, std::uint16_t address, std::uint16_t value);
std::vector<std::uint8_t> build_write_multiple_coils(std::uint8_t unit, std::uint16_t address, const std::vector<bool>& bits);
std::vector<std::uint8_t> build_write_multiple_registers(std::uint8_t unit, std::uint16_t address,
                                                         std::span<const std::uint16_t> values);

// --- frame sizing ------------------------------------------------------------------------------
// RTU has no length field of its own; the size of a frame follows from its function code and, for
// some, a byte count inside it. Knowing it lets the receiver end a frame without waiting for the
// 3.5-character silence, which USB adapters blur anyway.
struct FrameSize {
    enum Status { need_more, known, invalid } status = need_more;
    std::size_t length = 0;  // total ADU bytes including the CRC, when known
};
FrameSize response_size(std::span<const std::uint8_t> bytes);
FrameSize request_size(std::span<const std::uint8_t> bytes);

// --- parsing -------------------------------------------------------------------------------------
struct Response {
    std::uint8_t unit = 0;
    std::uint8_t function = 0;  // without the exception bit
    bool exception = false;
    std::uint8_t exception_code = 0;
    std::vector<std::uint16_t> registers;  // FC 03/04
    std::vector<bool> bits;                // FC 01/02: all bits of the data bytes, LSB of the first byte first
    std::uint16_t address = 0;             // FC 05/06/15/16 echo
    std::uint16_t value = 0;               // FC 05/06: the value written; FC 15/16: the quantity
};

struct Request {
    std::uint8_t unit = 0;
    std::uint8_t function = 0;
    std::uint16_t address = 0;
    std::uint16_t count = 0;               // quantity read or written (1 for FC 05/06)
    std::vector<std::uint16_t> registers;  // FC 06/16 values
    std::vector<bool> bits;                // FC 05/15 values
};

// Parses one whole ADU (exactly one frame, CRC included). On failure `error` says why and the
// returned value is empty.
std::optional<Response> parse_response(std::span<const std::uint8_t> adu, std::string& error);
std::optional<Request> parse_request(std::span<const std::uint8_t> adu, std::string& error);

// Checks that `response` answers `request` (same unit and function, the quantity asked for, the
// echo of a write). Exception responses answer any request of their function.
bool response_matches(const Request& request, const Response& response, std::string& error);

}  // namespace loopgate::modbus
