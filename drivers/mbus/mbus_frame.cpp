#include "drivers/mbus/mbus_frame.hpp"

#include <algorithm>

namespace loopgate::mbus {

std::uint8_t checksum(std::span<const std::uint8_t> bytes) {
    unsigned sum = 0;
    for (std::uint8_t b : bytes) sum += b;
    return static_cast<std::uint8_t>(sum);
}

FrameScan scan_frame(std::span<const std::uint8_t> b) {
    if (b.empty()) return {};
    switch (b[0]) {
        case kAck:
            return {FrameScan::complete, 1};
        case kShortStart:
            if (b.size() < 5) return {};
            if (b[4] != kStop || checksum(b.subspan(1, 2)) != b[3]) return {FrameScan::invalid, 0};
            return {FrameScan::complete, 5};
        case kStart: {
            if (b.size() < 4) {
                if (b.size() >= 3 && b[1] != b[2]) return {FrameScan::invalid, 0};
                return {};
            }
            // L counts C, A, CI and the data; a control frame has L = 3, anything shorter is no frame.
            if (b[1] != b[2] || b[3] != kStart || b[1] < 3) return {FrameScan::invalid, 0};
            std::size_t total = std::size_t{b[1]} + 6;
            if (b.size() < total) return {};
            if (b[total - 1] != kStop || checksum(b.subspan(4, b[1])) != b[total - 2]) return {FrameScan::invalid, 0};
            return {FrameScan::complete, total};
        }
        default:
            return {FrameScan::invalid, 0};
    }
}

Frame parse_frame(std::span<const std::uint8_t> b) {
    Frame f;
    if (b[0] == kAck) return f;
    if (b[0] == kShortStart) {
        f.kind = FrameKind::short_frame;
        f.control = b[1];
        f.address = b[2];
        return f;
    }
    f.kind = b[1] == 3 ? FrameKind::control : FrameKind::long_frame;
    f.control = b[4];
    f.address = b[5];
    f.ci = b[6];
    f.data = b.subspan(7, std::size_t{b[1]} - 3);
    return f;
}

std::vector<std::uint8_t> build_short(std::uint8_t control, std::uint8_t address) {
    return {kShortStart, control, address, static_cast<std::uint8_t>(control + address), kStop};
}

std::vector<std::uint8_t> build_long(std::uint8_t control, std::uint8_t address, std::uint8_t ci,
                                     std::span<const std::uint8_t> data) {
    auto len = static_cast<std::uint8_t>(data.size() + 3);
    std::vector<std::uint8_t> out(data.size() + 9);
    out[0] = out[3] = kStart;
    out[1] = out[2] = len;
    out[4] = control;
    out[5] = address;
    out[6] = ci;
    std::copy(data.begin(), data.end(), out.begin() + 7);
    out[out.size() - 2] = checksum(std::span(out).subspan(4, data.size() + 3));
    out[out.size() - 1] = kStop;
    return out;
}

std::vector<std::uint8_t> build_select_secondary(const char (&id)[9]) {
    // EN 13757-3 secondary address: identification number as 4 BCD bytes, least significant first;
    // F nibbles are wildcards, as are manufacturer FFFFh, version FFh and medium FFh.
    std::uint8_t data[8];
    auto nibble = [](char c) { return static_cast<std::uint8_t>(c >= '0' && c <= '9' ? c - '0' : 0xF); };
    for (int i = 0; i < 4; ++i)
        data[i] = static_cast<std::uint8_t>(nibble(id[6 - 2 * i]) << 4 | nibble(id[7 - 2 * i]));
    for (int i = 4; i < 8; ++i) data[i] = 0xFF;
    return build_long(kSndUd, kAddressNetworkLayer, kCiSelectSecondary, data);
}

}  // namespace loopgate::mbus
