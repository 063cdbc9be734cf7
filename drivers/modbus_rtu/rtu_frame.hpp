#pragma once
// Modbus RTU framing (Modbus over Serial Line V1.02, 2.5.1): an ADU is the unit id, the PDU and a
// CRC-16, delimited on the wire only by silence. The protocol itself is modbus_pdu.hpp's.
//
// Pure functions over byte spans.

#include <chrono>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "drivers/modbus/modbus_pdu.hpp"

namespace loopgate::modbus::rtu {

constexpr std::uint8_t kMaxUnit = 247;  // 248-255 are reserved on a serial line

// The whole serial frame of `request`: unit id, PDU, CRC.
std::vector<std::uint8_t> frame(const Request& request);

// The length of the frame starting at `bytes`, unit id and CRC included, from its function code
// and byte count.
struct FrameSize {
    enum Status { need_more, known, invalid } status = need_more;
    std::size_t length = 0;  // total ADU bytes including the CRC, when known
};
FrameSize response_size(std::span<const std::uint8_t> bytes);
FrameSize request_size(std::span<const std::uint8_t> bytes);

// Parses exactly one ADU (one frame, CRC included). On failure `error` says why ("bad CRC" for a
// checksum that fails) and the returned value is empty.
std::optional<Response> parse_response(std::span<const std::uint8_t> adu, std::string& error);
std::optional<Request> parse_request(std::span<const std::uint8_t> adu, std::string& error);

// --- frames in a byte stream ----------------------------------------------------------------------
// What reaches the receiver is a stream, not frames: a device server (ser2net, an NPort) or a USB
// adapter coalesces frames into one read and splits one frame over several, with gaps that say
// nothing about where a frame ends. A frame is found by its function code's length and its CRC.
struct FrameKinds {
    bool responses = true;
    bool requests = false;  // a monitor sees both directions on one wire
};
// The offset of the earliest complete frame of one of `kinds` with a good CRC; none if `bytes`
// holds none (yet).
std::optional<std::size_t> find_frame(std::span<const std::uint8_t> bytes, FrameKinds kinds);
// How many leading bytes can start no frame of `kinds` whatever follows: each position either names
// no frame or holds a complete one whose CRC fails. The first byte that could still start a frame
// (or the end) ends the count.
std::size_t dead_prefix(std::span<const std::uint8_t> bytes, FrameKinds kinds);

// The line's timing: one character's time on the wire and the silence that ends a frame.
struct Timing {
    std::chrono::nanoseconds char_time{};
    std::chrono::nanoseconds t35{};      // the standard's 3.5 characters
    std::chrono::nanoseconds silence{};  // what this receiver waits for: t3.5, or a longer configured gap
};
// `bits_per_char` counts start, data, parity and stop bits (11 for 8E1); 0 takes 11, as does baud 0
// (9600 assumed). `frame_gap` lengthens the silence for adapters that stretch it (never shortens it).
Timing timing(unsigned baud, double bits_per_char, std::optional<std::chrono::nanoseconds> frame_gap);

}  // namespace loopgate::modbus::rtu
