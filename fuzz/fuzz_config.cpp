// libFuzzer target: the config loader (core/config_node.hpp, gateway/config.hpp) over arbitrary
// YAML text: syntax, duplicate keys at any depth, extra documents, aliases, and every section's
// validation including the drivers' settings. Config updates are to come remotely, so this is a
// parser of remote input. Only ConfigError may come out; anything else (a crash, another exception)
// is a finding.
#include <cstddef>
#include <cstdint>
#include <string>

#include "gateway/config.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    // Key files named in commands.operator_keys and signing.key_file are read while validating:
    // keep the fuzzer off device files there, which would block (/dev/stdin) or never end (/dev/zero).
    if (text.find("key") != std::string::npos)
        for (const char* place : {"dev/", "proc/", "sys/", "fd/", "stdin"})
            if (text.find(place) != std::string::npos) return -1;
    try {
        loopgate::Config c = loopgate::parse_config(loopgate::ConfigNode::load_string(text, "fuzz.yaml"));
        (void)c.ports.size();
    } catch (const loopgate::ConfigError&) {
    }
    return 0;
}
