#include "gateway/security/security_config.hpp"

#include <cstdlib>

#include "gateway/security/ed25519.hpp"

namespace loopgate {

namespace {
std::vector<std::string> public_key_files(const ConfigNode& list) {
    std::vector<std::string> files;
    for (const ConfigNode& k : list.items()) {
        std::string path = k.as_string();
        try {
            (void)ed25519::Key::load_public(path);
        } catch (const std::exception& e) {
            k.fail(e.what());
        }
        files.push_back(path);
    }
    return files;
}
}  // namespace

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
    c.operator_keys = public_key_files(n["operator_keys"]);
    if (c.require_signature && c.operator_keys.empty())
        n.need("require_signature").fail("require_signature needs at least one key in operator_keys");
    return c;
}

RemoteConfigConfig parse_remote_config(const ConfigNode& n) {
    RemoteConfigConfig r;
    if (!n.present()) return r;
    n.allow_only({"enabled", "keys", "health_timeout"});
    r.enabled = n.boolean("enabled", false);
    r.keys = public_key_files(n["keys"]);
    r.health_timeout_ms = n.millis("health_timeout", 60'000);
    if (r.health_timeout_ms < 1000 || r.health_timeout_ms > 3'600'000)
        n.need("health_timeout").fail("expected a duration from 1s to 1h");
    // Without a key nothing could ever be accepted: an enabled section that cannot work is a mistake.
    if (r.enabled && r.keys.empty()) n.need("enabled").fail("remote_config needs at least one key in keys");
    return r;
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
