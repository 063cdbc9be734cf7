#include "core/untrusted_text.hpp"

namespace loopgate {

std::string untrusted_text(std::string_view text, std::size_t max_bytes) {
    static constexpr char hex[] = "0123456789abcdef";
    std::string_view shown = text.substr(0, max_bytes);
    std::string out;
    out.reserve(shown.size() + 8);
    for (char ch : shown) {
        auto c = static_cast<unsigned char>(ch);
        if (c == '\\') {
            out += "\\\\";
        } else if (c >= 0x20 && c < 0x7f) {
            out += ch;
        } else {
            out += "\\x";
            out += hex[c >> 4];
            out += hex[c & 15];
        }
    }
    if (text.size() > shown.size()) out += "...(" + std::to_string(text.size()) + " bytes)";
    return out;
}

}  // namespace loopgate
