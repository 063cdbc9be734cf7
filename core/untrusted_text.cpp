#include "core/untrusted_text.hpp"

#include "core/hex.hpp"

namespace loopgate {

std::string untrusted_text(std::string_view text, std::size_t max_bytes) {
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
            append_hex(out, std::string_view(&ch, 1));
        }
    }
    if (text.size() > shown.size()) out += "...(" + std::to_string(text.size()) + " bytes)";
    return out;
}

}  // namespace loopgate
