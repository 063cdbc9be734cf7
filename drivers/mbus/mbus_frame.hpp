#pragma once
// M-Bus link layer (EN 13757-2, IEC 60870-5-2 FT 1.2): single character E5h, short frame
// 10 C A CS 16, control and long frames 68 L L 68 C A CI data CS 16. Pure functions over bytes.

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

namespace loopgate::mbus {

inline constexpr std::uint8_t kAck = 0xE5;
inline constexpr std::uint8_t kStart = 0x68;
inline constexpr std::uint8_t kShortStart = 0x10;
inline constexpr std::uint8_t kStop = 0x16;

// Control fields (master to slave; FCB 20h and FCV 10h are added for REQ_UD2).
inline constexpr std::uint8_t kSndNke = 0x40;
inline constexpr std::uint8_t kReqUd2 = 0x5B;  // FCV set
inline constexpr std::uint8_t kFcb = 0x20;
inline constexpr std::uint8_t kSndUd = 0x53;   // FCV set
inline constexpr std::uint8_t kRspUd = 0x08;   // slave answer (ACD 20h, DFC 10h may be added)

inline constexpr std::uint8_t kAddressNetworkLayer = 0xFD;  // talk to the meter selected by secondary address
inline constexpr std::uint8_t kAddressBroadcastNoReply = 0xFF;
inline constexpr std::uint8_t kCiSelectSecondary = 0x52;

enum class FrameKind { ack, short_frame, control, long_frame };

struct Frame {
    FrameKind kind = FrameKind::ack;
    std::uint8_t control = 0;
    std::uint8_t address = 0;
    std::uint8_t ci = 0;                    // control and long frames
    std::span<const std::uint8_t> data;     // long frames: the user data after CI
};

// What the bytes at the start of a buffer are.
struct FrameScan {
    enum Status { need_more, invalid, complete } status = need_more;
    std::size_t length = 0;  // complete: the frame's size on the wire
};

// Looks at the start of `bytes` only: a complete frame (checksum and stop byte checked), bytes that
// may still become one, or bytes that cannot start a frame (the caller drops one and looks again).
FrameScan scan_frame(std::span<const std::uint8_t> bytes);

// Parses a complete frame as scan_frame() delimited it. The spans point into `bytes`.
Frame parse_frame(std::span<const std::uint8_t> bytes);

std::uint8_t checksum(std::span<const std::uint8_t> bytes);  // arithmetic sum modulo 256

std::vector<std::uint8_t> build_short(std::uint8_t control, std::uint8_t address);
std::vector<std::uint8_t> build_long(std::uint8_t control, std::uint8_t address, std::uint8_t ci,
                                     std::span<const std::uint8_t> data);

// SND_UD with CI 52h to the network layer address: selects the meter whose identification number
// matches `id_digits` (8 characters, '0'-'9' or 'F' as a wildcard digit), any manufacturer, version
// and medium.
std::vector<std::uint8_t> build_select_secondary(const char (&id_digits)[9]);

}  // namespace loopgate::mbus
