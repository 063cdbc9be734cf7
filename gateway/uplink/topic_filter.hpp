#pragma once
// MQTT topic filter matching, for routing received messages to their subscriber.

#include <string>

namespace loopgate {

// '+' matches one level, '#' the rest (MQTT 3.1.1, 4.7).
bool topic_matches(const std::string& filter, const std::string& topic);

}  // namespace loopgate
