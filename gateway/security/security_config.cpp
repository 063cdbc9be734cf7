#include "gateway/security/security_config.hpp"

#include <cstdlib>

#include "gateway/security/ed25519.hpp"

namespace loopgate {

double parse_rate(const ConfigNode& n) {
    std::string text = n.as_string();
    auto slash = text.find('/');
    std::string number = text.substr(0, slash);
    double per = 1;
    if (slash != std::string::npos) {
        std::string unit = text.substr(slash + 1);
        if (unit == "s") per = 1;
        else if (unit == "min") per = 60;
        else if (unit == "h") per = 3600;
        else n.fail("expected a rate such as 5/s, 30/min or 100/h, got '" + text + "'");
    }
    char* end = nullptr;
    double count = std::strtod(number.c_str(), &end);
    if (number.empty() || *end != '\0' || !(count > 0) || count > 1e6)
        n.fail("expected a rate such as 5/s, 30/min or 100/h, got '" + text + "'");
    return count / per;
}

CommandsConfig parse_commands(const ConfigNode& n) {
    CommandsConfig c;
    if (!n.present()) return c;
    n.allow_only({"enabled", "rate_limit", "max_lifetime", "id_cache", "require_signature", "operator_keys"});
    c.enabled = n.boolean("enabled", false);
    if (n["rate_limit"].present()) c.rate_per_second = parse_rate(n["rate_limit"]);
    c.max_lifetime_ms = n.millis("max_lifetime", 60'000);
    if (c.max_lifetime_ms < 1000 || c.max_lifetime_ms > 86'400'000)
        n.need("max_lifetime").fail("expected a duration from 1s to 1d");
    c.id_cache = static_cast<std::size_t>(n.integer("id_cache", 16, 10'000'000, 10'000));
    c.require_signature = n.boolean("require_signature", false);
    for (const ConfigNode& k : n["operator_keys"].items()) {
        std::string path = k.as_string();
        try {
            (void)ed25519::Key::load_public(path);
        } catch (const std::exception& e) {
            k.fail(e.what());
        }
        c.operator_keys.push_back(path);
    }
    if (c.require_signature && c.operator_keys.empty())
        n.need("require_signature").fail("require_signature needs at least one key in operator_keys");
    return c;
}

SigningConfig parse_signing(const ConfigNode& n) {
    SigningConfig s;
    if (!n.present()) return s;
    n.allow_only({"key_file"});
    s.key_file = n.str("key_file");
    try {
        (void)ed25519::Key::load_private(s.key_file);
    } catch (const std::exception& e) {
        n.need("key_file").fail(e.what());
    }
    return s;
}

}  // namespace loopgate
