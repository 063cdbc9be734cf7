#pragma once
// Builds AIS payloads field by field for the unit tables, as M.1371's tables list them: a test's
// expectations then read like the standard. The fieldtruth tests (gpsd's decode of real captures) keep
// the decoder honest where this writer and the decoder could share a misreading.

#include <cstdint>
#include <string>
#include <vector>

namespace ais_test {

class BitWriter {
public:
    BitWriter& put(std::int64_t value, unsigned width) {
        for (unsigned i = width; i-- > 0;) bits_.push_back(((static_cast<std::uint64_t>(value) >> i) & 1) != 0);
        return *this;
    }
    // Six-bit text, padded with '@' to `chars`.
    BitWriter& text(const std::string& s, unsigned chars) {
        for (unsigned i = 0; i < chars; ++i) {
            unsigned char c = i < s.size() ? static_cast<unsigned char>(s[i]) : '@';
            put(c >= 64 ? c - 64 : c, 6);
        }
        return *this;
    }
    // Zeros up to bit `n` (spare fields, fields a test does not care about).
    BitWriter& pad_to(std::size_t n) {
        while (bits_.size() < n) bits_.push_back(false);
        return *this;
    }
    std::size_t size() const { return bits_.size(); }

    // The armoured payload and its fill bits.
    std::pair<std::string, unsigned> armour() const {
        std::string out;
        unsigned fill = static_cast<unsigned>((6 - bits_.size() % 6) % 6);
        for (std::size_t i = 0; i < bits_.size() + fill; i += 6) {
            unsigned v = 0;
            for (std::size_t k = 0; k < 6; ++k) v = (v << 1) | ((i + k < bits_.size() && bits_[i + k]) ? 1 : 0);
            out.push_back(static_cast<char>(v < 40 ? v + 48 : v + 56));
        }
        return {out, fill};
    }

private:
    std::vector<bool> bits_;
};

// The common header: type, repeat 0, MMSI.
inline BitWriter header(unsigned type, std::uint32_t mmsi) {
    BitWriter w;
    w.put(type, 6).put(0, 2).put(mmsi, 30);
    return w;
}

inline std::string with_checksum(std::string text) {
    unsigned sum = 0;
    for (std::size_t i = 1; i < text.size(); ++i) sum ^= static_cast<unsigned char>(text[i]);
    static const char* hex = "0123456789ABCDEF";
    return text + "*" + hex[sum >> 4] + hex[sum & 15] + "\r\n";
}

// One whole !AIVDM sentence carrying `w`.
inline std::string sentence(const BitWriter& w, const std::string& address = "AIVDM", const std::string& channel = "A") {
    auto [payload, fill] = w.armour();
    return with_checksum("!" + address + ",1,1,," + channel + "," + payload + "," + std::to_string(fill));
}

}  // namespace ais_test
