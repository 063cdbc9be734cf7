#include "gateway/uplink/topic_filter.hpp"

namespace loopgate {

bool topic_matches(const std::string& filter, const std::string& topic) {
    std::size_t f = 0, t = 0;
    while (f < filter.size()) {
        if (filter[f] == '#') return true;
        if (filter[f] == '+') {
            while (t < topic.size() && topic[t] != '/') ++t;
            ++f;
            continue;
        }
        if (t >= topic.size() || filter[f] != topic[t]) return false;
        ++f;
        ++t;
    }
    return t == topic.size();
}

}  // namespace loopgate
