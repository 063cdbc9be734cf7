#include "core/topic_name.hpp"

namespace loopgate {

std::string topic_name_problem(const std::string& name) {
    if (name.empty()) return "must not be empty";
    if (name.size() > 64) return "is longer than 64 characters";
    for (char ch : name) {
        auto c = static_cast<unsigned char>(ch);
        if (c == '+' || c == '#' || c == '/') return std::string("must not contain '") + ch + "' (it is special in MQTT topics)";
        if (c < 0x20 || c == 0x7f) return "must not contain control characters or NUL";
    }
    return {};
}

void require_topic_name(const ConfigNode& where, const std::string& name) {
    std::string problem = topic_name_problem(name);
    if (!problem.empty()) where.fail("name '" + name + "' " + problem);
}

}  // namespace loopgate
