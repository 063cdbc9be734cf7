#pragma once
// What config tests compare: the located error the loader gives a config text, or "no error".

#include <string>

#include "gateway/config.hpp"

namespace loopgate::testing {

inline std::string config_error(const std::string& yaml) {
    try {
        parse_config(ConfigNode::load_string(yaml, "gw.yaml"));
    } catch (const ConfigError& e) {
        return e.what();
    }
    return "no error";
}

}  // namespace loopgate::testing
