#include "core/utf8.hpp"

namespace loopgate {

Utf8Step utf8_step(std::string_view s, std::size_t at) {
    const auto lead = static_cast<std::uint8_t>(s[at]);
    if (lead < 0x80) return {1, true, lead};
    // Unicode table 3-7: the lead byte fixes the number of trail bytes and the range of the first
    // one; every later trail byte is 80..BF. This is what rules out overlongs (E0 80..9F, F0 80..8F),
    // surrogates (ED A0..BF) and code points above U+10FFFF (F4 90..BF, F5..FF).
    std::size_t trail = 0;
    std::uint8_t low = 0x80, high = 0xBF;
    std::uint32_t cp = 0;
    if (lead >= 0xC2 && lead <= 0xDF) {
        trail = 1;
        cp = lead & 0x1F;
    } else if (lead >= 0xE0 && lead <= 0xEF) {
        trail = 2;
        cp = lead & 0x0F;
        if (lead == 0xE0) low = 0xA0;
        if (lead == 0xED) high = 0x9F;
    } else if (lead >= 0xF0 && lead <= 0xF4) {
        trail = 3;
        cp = lead & 0x07;
        if (lead == 0xF0) low = 0x90;
        if (lead == 0xF4) high = 0x8F;
    } else {
        return {1, false, 0};  // 80..BF without a lead, C0 C1 (always overlong), F5..FF
    }
    std::size_t length = 1;
    for (std::size_t i = 0; i < trail; ++i, ++length) {
        if (at + length >= s.size()) return {length, false, 0};  // cut at the end of the text
        const auto b = static_cast<std::uint8_t>(s[at + length]);
        if (b < low || b > high) return {length, false, 0};
        cp = (cp << 6) | (b & 0x3F);
        low = 0x80;
        high = 0xBF;
    }
    return {length, true, cp};
}

bool valid_utf8(std::string_view text) {
    for (std::size_t i = 0; i < text.size();) {
        Utf8Step s = utf8_step(text, i);
        if (!s.well_formed) return false;
        i += s.length;
    }
    return true;
}

}  // namespace loopgate
