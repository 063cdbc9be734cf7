#include "gateway/fleet/config_update.hpp"

#include "core/untrusted_text.hpp"
#include "gateway/security/sha256.hpp"
#include "gateway/security/signed_bytes.hpp"

namespace loopgate {

std::string update_source_name(std::uint64_t version) { return "remote config version " + std::to_string(version); }

namespace {

std::string joined(const std::vector<std::string>& items) {
    std::string out;
    for (const std::string& i : items) out += (out.empty() ? "" : ", ") + i;
    return "[" + out + "]";
}

template <class T>
void compare(std::string& out, const char* field, const T& running, const T& next) {
    if (running == next || !out.empty()) return;
    out = std::string(field) + " may not be changed remotely";
}

}  // namespace

std::string locked_setting_change(const Config& running, const Config& next) {
    std::string out;
    const RemoteConfigConfig& r = running.remote_config;
    const RemoteConfigConfig& n = next.remote_config;
    compare(out, "remote_config.enabled", r.enabled, n.enabled);
    if (out.empty() && r.keys != n.keys)
        out = "remote_config.keys may not be changed remotely (running " + joined(r.keys) + ", update " +
              joined(n.keys) + ")";
    compare(out, "remote_config.health_timeout", r.health_timeout_ms, n.health_timeout_ms);
    compare(out, "commands.operator_keys", running.commands.operator_keys, next.commands.operator_keys);
    compare(out, "signing.key_file", running.signing.key_file, next.signing.key_file);
    compare(out, "uplink.credentials_file", running.uplink.credentials_file, next.uplink.credentials_file);
    compare(out, "uplink.tls.ca_file", running.uplink.tls.ca_file, next.uplink.tls.ca_file);
    compare(out, "uplink.tls.cert_file", running.uplink.tls.cert_file, next.uplink.tls.cert_file);
    compare(out, "uplink.tls.key_file", running.uplink.tls.key_file, next.uplink.tls.key_file);
    if (out.empty() && running.store.path != next.store.path)
        out = "store.path may not be changed remotely (running '" + running.store.path + "', update '" +
              next.store.path + "')";
    // A gateway that renamed itself would no longer hear the updates addressed to it.
    compare(out, "gateway.id", running.gateway_id, next.gateway_id);
    if (out.empty() && running.uplink.topic_prefix != next.uplink.topic_prefix)
        out = "uplink.topic_prefix may not be changed remotely (the gateway would stop hearing its config topic)";
    return out;
}

ConfigUpdateChecker::ConfigUpdateChecker(const RemoteConfigConfig& config) {
    for (const std::string& f : config.keys) keys_.push_back(ed25519::Key::load_public(f));
}

std::string ConfigUpdateChecker::check_signature(const v1::ConfigUpdate& u) const {
    if (u.signature().empty()) return "unsigned (remote_config needs a signature by a key in remote_config.keys)";
    std::string problem = ed25519::check_signature(keys_, signed_bytes(u), u.signature(), u.key_id());
    if (problem.rfind("unknown key_id", 0) == 0) problem += " (not in remote_config.keys)";
    return problem;
}

UpdateDecision ConfigUpdateChecker::check(std::string_view payload, bool retained, const Config& running,
                                          std::uint64_t highest_version, std::int64_t now_ns) const {
    UpdateDecision d;
    if (payload.size() > kMaxConfigUpdateBytes) {
        d.refusal = "update too large (" + std::to_string(payload.size()) + " bytes, at most " +
                    std::to_string(kMaxConfigUpdateBytes) + ")";
        return d;
    }
    v1::ConfigUpdate u;
    if (!u.ParseFromArray(payload.data(), static_cast<int>(payload.size()))) {
        d.refusal = "payload is not a loopgate.v1.ConfigUpdate";
        return d;
    }
    d.version = u.version();
    d.sha256 = sha256_hex(u.yaml());
    // A retained update would be offered again at every subscribe: refused before any other check, so
    // a stale message on the broker never even costs a signature check.
    if (retained) {
        d.refusal = "retained message (config updates must not be retained)";
        return d;
    }
    if (u.gateway_id() != running.gateway_id) {
        // The sender chose that id, and the refusal is logged and echoed: shown escaped and cut.
        d.refusal = "for gateway '" + untrusted_text(u.gateway_id()) + "', this is '" + running.gateway_id + "'";
        return d;
    }
    if (d.refusal = check_signature(u); !d.refusal.empty()) return d;
    if (u.expires_ns() <= 0) {
        d.refusal = "missing expires_ns (every update must expire)";
        return d;
    }
    if (u.expires_ns() < now_ns) {
        d.refusal = "expired " + std::to_string((now_ns - u.expires_ns()) / 1'000'000) + " ms ago";
        return d;
    }
    if (u.version() <= highest_version) {
        d.refusal = "version " + std::to_string(u.version()) + " is not above " + std::to_string(highest_version) +
                    ", the highest this gateway has accepted (replayed or out of order)";
        return d;
    }
    Config next;
    try {
        next = parse_config(ConfigNode::load_string(u.yaml(), update_source_name(u.version())));
    } catch (const ConfigError& e) {
        d.refusal = "invalid configuration: " + std::string(e.what());
        return d;
    } catch (const std::exception& e) {
        d.refusal = "invalid configuration: " + std::string(e.what());
        return d;
    }
    if (d.refusal = locked_setting_change(running, next); !d.refusal.empty()) return d;
    d.yaml = u.yaml();
    d.config = std::move(next);
    return d;
}

}  // namespace loopgate
