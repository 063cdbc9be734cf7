#include "core/topic_name.hpp"

#include "core/untrusted_text.hpp"
#include "core/utf8.hpp"

namespace loopgate {

std::string topic_name_problem(const std::string& name) {
    if (name.empty()) return "must not be empty";
    if (name.size() > 64) return "is longer than 64 characters";
    for (char ch : name) {
        auto c = static_cast<unsigned char>(ch);
        if (c == '+' || c == '#' || c == '/') return std::string("must not contain '") + ch + "' (it is special in MQTT topics)";
        if (c < 0x20 || c == 0x7f) return "must not contain control characters or NUL";
    }
    // MQTT topics and client ids are UTF-8 strings: Paho refuses any other bytes when the client is
    // made or a topic published, so such a name would pass the config check and fail at run.
    for (std::size_t i = 0; i < name.size();) {
        Utf8Step s = utf8_step(name, i);
        if (!s.well_formed) return "is not valid UTF-8 (byte " + std::to_string(i + 1) + "; MQTT topics must be UTF-8)";
        if (s.code_point >= 0x80 && s.code_point <= 0x9f) return "must not contain control characters or NUL";
        i += s.length;
    }
    return {};
}

void require_topic_name(const ConfigNode& where, const std::string& name) {
    std::string problem = topic_name_problem(name);
    // The name is shown escaped: it may hold the very bytes it is refused for.
    if (!problem.empty()) where.fail("name '" + untrusted_text(name, 80) + "' " + problem);
}

}  // namespace loopgate
