#pragma once
// Modbus protocol data units: a function code and its data, the part of a message every Modbus
// transport shares (Application Protocol V1.1b3, 4.1). The transport wraps a PDU into an ADU: RTU
// adds the unit id and a CRC (drivers/modbus_rtu/rtu_frame.hpp); TCP the MBAP header
// (drivers/modbus_tcp/mbap_frame.hpp). Nothing here knows a
// unit id's place on the wire or a checksum.
//
// Pure functions over byte spans. Sizes and limits follow the Application Protocol, 6.1-6.12.

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

std::uint8_t read_function(Table t);
// The table a read or write function code addresses; none for other codes.
std::optional<Table> table_of_function(std::uint8_t function);
bool is_write_function(std::uint8_t function);

// Exception code -> its name in the spec (ILLEGAL_DATA_ADDRESS...); unknown codes -> EXCEPTION_0xNN.
std::string exception_name(std::uint8_t code);

// A request as the master means it. `unit` is whom it is addressed to: the PDU does not carry it,
// the transport does.
struct Request {
    std::uint8_t unit = 0;
    std::uint8_t function = 0;
    std::uint16_t address = 0;
    std::uint16_t count = 0;               // quantity read or written (1 for FC 05/06)
    std::vector<std::uint16_t> registers;  // FC 06/16 values
    std::vector<bool> bits;                // FC 05/15 values
};

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

// --- requests (master side) ----------------------------------------------------------------------
Request read_request(std::uint8_t unit, Table table, std::uint16_t address, std::uint16_t count);
// The write that puts `words` at `address`: FC 05 for a coil (words[0] != 0 is on), FC 06 for one
// register, FC 16 for several.
Request write_request(std::uint8_t unit, Table table, std::uint16_t address, std::vector<std::uint16_t> words);
Request write_coils_request(std::uint8_t unit, std::uint16_t address, std::vector<bool> bits);  // FC 15

// Function code and data of `request`, ready for a transport to wrap.
std::vector<std::uint8_t> encode_request(const Request& request);

// --- sizing ----------------------------------------------------------------------------------------
// A PDU's length follows from its function code and, for some, a byte count inside it. Serial RTU
// has no length field of its own, so this is how its receiver ends a frame without waiting for the
// 3.5-character silence (which USB adapters and device servers blur anyway).
struct PduSize {
    enum Status { need_more, known, invalid } status = need_more;
    std::size_t length = 0;  // PDU bytes (function code and data), when known
};
PduSize response_pdu_size(std::span<const std::uint8_t> pdu);
PduSize request_pdu_size(std::span<const std::uint8_t> pdu);

// --- decoding ------------------------------------------------------------------------------------
// Decodes exactly one PDU (its length already checked by the transport against *_pdu_size) sent
// by or to `unit`. On failure `error` says why and the returned value is empty.
std::optional<Response> decode_response(std::uint8_t unit, std::span<const std::uint8_t> pdu, std::string& error);
std::optional<Request> decode_request(std::uint8_t unit, std::span<const std::uint8_t> pdu, std::string& error);

// Checks that `response` answers `request` (same unit and function, the quantity asked for, the
// echo of a write). Exception responses answer any request of their function.
bool response_matches(const Request& request, const Response& response, std::string& error);

}  // namespace loopgate::modbus
