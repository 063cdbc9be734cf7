#pragma once
// CRC-32C (Castagnoli), the checksum iSCSI, ext4 and Btrfs use for data at rest: it lets the store
// tell a stored batch that the disk damaged from a good one before anything is published.

#include <array>
#include <cstdint>
#include <string_view>

namespace loopgate {

inline std::uint32_t crc32c(std::string_view data, std::uint32_t crc = 0) {
    static const auto table = [] {
        std::array<std::uint32_t, 256> t{};
        for (std::uint32_t i = 0; i < 256; ++i) {
            std::uint32_t c = i;
            for (int k = 0; k < 8; ++k) c = (c & 1) ? (c >> 1) ^ 0x82F63B78u : c >> 1;
            t[i] = c;
        }
        return t;
    }();
    crc = ~crc;
    for (unsigned char byte : data) crc = table[(crc ^ byte) & 0xff] ^ (crc >> 8);
    return ~crc;
}

}  // namespace loopgate
