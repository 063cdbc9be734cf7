#include "drivers/text/sanitize_text.hpp"

#include <cstdint>

#include "core/utf8.hpp"

namespace loopgate {

namespace {

constexpr std::string_view replacement = "\xEF\xBF\xBD";  // U+FFFD

bool is_control(std::uint32_t cp) { return (cp < 0x20 && cp != '\t') || (cp >= 0x7F && cp <= 0x9F); }

bool printable_ascii(std::string_view s) {
    for (char c : s)
        if (static_cast<unsigned char>(c) < 0x20 || static_cast<unsigned char>(c) >= 0x7F) return false;
    return true;
}

}  // namespace

bool clean_text(std::string_view text) {
    if (printable_ascii(text)) return true;  // nearly every value: no decoding needed
    for (std::size_t i = 0; i < text.size();) {
        Utf8Step s = utf8_step(text, i);
        if (!s.well_formed || is_control(s.code_point)) return false;
        i += s.length;
    }
    return true;
}

std::size_t sanitize_text(std::string& text) {
    if (clean_text(text)) return 0;
    std::string out;
    out.reserve(text.size() + 8);
    std::size_t replaced = 0;
    for (std::size_t i = 0; i < text.size();) {
        Utf8Step s = utf8_step(text, i);
        if (s.well_formed && !is_control(s.code_point)) {
            out.append(text, i, s.length);
        } else {
            out += replacement;
            ++replaced;
        }
        i += s.length;
    }
    text = std::move(out);
    return replaced;
}

}  // namespace loopgate
