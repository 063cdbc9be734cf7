#pragma once
// Modbus TCP framing (Modbus Messaging on TCP/IP Implementation Guide V1.0b, 3.1.3): an ADU is the
// 7-byte MBAP header (transaction id, protocol id 0, length of what follows, unit id) and the PDU.
// The PDU is modbus_pdu.hpp's, shared with RTU; this file knows only the header.
//
// Pure functions over byte spans.

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "drivers/modbus/modbus_pdu.hpp"

namespace loopgate::modbus::tcp {

constexpr std::size_t kHeaderSize = 7;    // transaction 2, protocol 2, length 2, unit 1
constexpr std::size_t kMaxPduSize = 253;  // Application Protocol 4.1: the serial ADU's 256 less address and CRC
constexpr std::uint16_t kDefaultPort = 502;

struct Header {
    std::uint16_t transaction = 0;
    std::uint16_t protocol = 0;  // 0 is Modbus; anything else is not for us
    std::uint16_t length = 0;    // bytes after the length field: unit id + PDU
    std::uint8_t unit = 0;
};

// The whole ADU of `request` under `transaction`.
std::vector<std::uint8_t> frame(const Request& request, std::uint16_t transaction);

// Where the ADU at the front of a TCP byte stream ends: the header's length field says, whatever
// segments the bytes came in. `invalid`: the front is no MBAP header (protocol id not 0, or a
// length that cannot hold a unit id and a PDU), so the stream is out of step.
struct AduSize {
    enum Status { need_more, known, invalid } status = need_more;
    std::size_t length = 0;  // header + PDU, when known
    Header header;           // when known
};
AduSize adu_size(std::span<const std::uint8_t> bytes);

// Parses exactly one ADU. The PDU must be as long as the header says and as its function code says.
// On failure `error` says why and the returned value is empty; `header` is filled whenever the
// header itself was readable, so an answer that fails still names its transaction.
std::optional<Response> parse_response(std::span<const std::uint8_t> adu, Header& header, std::string& error);
std::optional<Request> parse_request(std::span<const std::uint8_t> adu, Header& header, std::string& error);

}  // namespace loopgate::modbus::tcp
