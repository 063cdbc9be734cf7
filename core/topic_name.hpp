#pragma once
// The rule for names that end up in MQTT topics (gateway, port, device, metric).

#include <string>

#include "core/config_node.hpp"

namespace loopgate {

// Names that end up in MQTT topics (gateway, port, device, metric) must be safe there.
// Throws ConfigError at `where` when `name` is empty, too long, or holds + # / NUL or control chars.
void require_topic_name(const ConfigNode& where, const std::string& name);
// Same check without a config location; returns the problem or empty.
std::string topic_name_problem(const std::string& name);

}  // namespace loopgate
