#include "drivers/nmea0183/ais_sixbit.hpp"

namespace loopgate::nmea::ais {

int armour_value(char c) {
    if (c >= '0' && c <= 'W') return c - '0';
    if (c >= '`' && c <= 'w') return c - '0' - 8;
    return -1;
}

std::optional<SixBits> SixBits::from_armoured(std::string_view payload, unsigned fill_bits) {
    if (fill_bits > 5) return std::nullopt;
    for (char c : payload)
        if (armour_value(c) < 0) return std::nullopt;
    const std::size_t raw = payload.size() * 6;
    if (fill_bits > raw) return std::nullopt;
    return SixBits(payload, raw - fill_bits);
}

std::uint32_t SixBits::u(std::size_t start, unsigned width) const {
    // A character's worth of bits at a time: fields cross at most six characters.
    std::uint64_t v = 0;
    std::size_t i = start;
    unsigned left = width;
    while (left > 0 && i < bits_) {
        const unsigned offset = static_cast<unsigned>(i % 6);
        const unsigned available = 6 - offset;
        unsigned take = left < available ? left : available;
        if (bits_ - i < take) take = static_cast<unsigned>(bits_ - i);
        const auto six = static_cast<unsigned>(armour_value(payload_[i / 6]));
        v = (v << take) | ((six >> (available - take)) & ((1U << take) - 1));
        i += take;
        left -= take;
    }
    return static_cast<std::uint32_t>(v << left);  // past the end: zeros
}

std::int32_t SixBits::s(std::size_t start, unsigned width) const {
    const std::uint32_t raw = u(start, width);
    if (width == 0 || width >= 32) return static_cast<std::int32_t>(raw);
    const std::uint32_t sign = 1U << (width - 1);
    return static_cast<std::int32_t>(raw ^ sign) - static_cast<std::int32_t>(sign);
}

std::string SixBits::text_untrimmed(std::size_t start, std::size_t chars) const {
    std::string out;
    out.reserve(chars);
    for (std::size_t i = 0; i < chars; ++i) {
        const std::uint32_t v = u(start + 6 * i, 6);
        // 0-31 are '@'..'_', 32-63 are ' '..'?': ASCII for both halves.
        const char c = static_cast<char>(v < 32 ? v + 64 : v);
        if (c == '@') break;
        out.push_back(c);
    }
    return out;
}

std::string SixBits::text(std::size_t start, std::size_t chars) const {
    std::string out = text_untrimmed(start, chars);
    trim_padding(out);
    return out;
}

void trim_padding(std::string& text) {
    while (!text.empty() && (text.back() == ' ' || text.back() == '@')) text.pop_back();
}

}  // namespace loopgate::nmea::ais
