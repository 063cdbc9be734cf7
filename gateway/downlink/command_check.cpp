#include "gateway/downlink/command_check.hpp"

#include <algorithm>
#include <cstdio>

#include "core/config_node.hpp"
#include "core/topic_name.hpp"
#include "core/untrusted_text.hpp"
#include "gateway/security/signed_bytes.hpp"

namespace loopgate {

std::string decode_command(std::string_view payload, v1::Command& out) {
    if (payload.size() > kMaxCommandBytes)
        return "command too large (" + std::to_string(payload.size()) + " bytes, at most " +
               std::to_string(kMaxCommandBytes) + ")";
    if (!out.ParseFromArray(payload.data(), static_cast<int>(payload.size())))
        return "payload is not a loopgate.v1.Command";
    return {};
}

namespace {
bool holds_controls(const std::string& s) {
    return std::any_of(s.begin(), s.end(), [](char ch) { return static_cast<unsigned char>(ch) < 0x20 || ch == 0x7f; });
}
}  // namespace

std::string check_shape(const v1::Command& c) {
    if (c.id().empty()) return "missing id";
    if (c.id().size() > kMaxCommandIdLength) return "id longer than " + std::to_string(kMaxCommandIdLength) + " bytes";
    if (holds_controls(c.id())) return "id holds control characters";
    if (auto p = topic_name_problem(c.device()); !p.empty()) return "device: " + p;
    if (auto p = topic_name_problem(c.point()); !p.empty()) return "point: " + p;
    if (c.value_case() == v1::Command::VALUE_NOT_SET) return "missing value";
    return {};
}

std::string check_expiry(std::int64_t expires_ns, std::int64_t now_ns, std::int64_t max_lifetime_ns) {
    if (expires_ns <= 0) return "missing expires_ns (every command must expire)";
    if (expires_ns < now_ns) return "expired " + std::to_string((now_ns - expires_ns) / 1'000'000) + " ms ago";
    if (expires_ns - now_ns > max_lifetime_ns)
        return "expires too far ahead (more than max_lifetime, " + std::to_string(max_lifetime_ns / 1'000'000) + " ms)";
    return {};
}

Value command_value(const v1::Command& c) {
    switch (c.value_case()) {
    case v1::Command::kDoubleValue: return c.double_value();
    case v1::Command::kIntValue: return std::int64_t{c.int_value()};
    case v1::Command::kBoolValue: return c.bool_value();
    case v1::Command::kStringValue: return c.string_value();
    default: return std::string();
    }
}

std::string OperatorKeys::check(const v1::Command& c, bool required) const {
    if (c.signature().empty()) return required ? "missing signature (commands.require_signature is on)" : std::string();
    if (keys_.empty()) return "signed command, but no operator_keys are configured";
    return ed25519::check_signature(keys_, signed_bytes(c), c.signature(), c.key_id());
}

void ReplayGuard::prune(std::int64_t now_ns) {
    while (!by_expiry_.empty() && by_expiry_.begin()->first < now_ns) {
        ids_.erase(by_expiry_.begin()->second);
        by_expiry_.erase(by_expiry_.begin());
    }
}

std::string ReplayGuard::check(const std::string& id, std::int64_t now_ns) {
    prune(now_ns);
    if (ids_.count(id)) return "repeated id '" + id + "' (replay)";
    if (ids_.size() >= capacity_) return "too many live command ids (commands.id_cache); try again later";
    return {};
}

void ReplayGuard::remember(const std::string& id, std::int64_t expires_ns) {
    if (ids_.emplace(id, expires_ns).second) by_expiry_.emplace(expires_ns, id);
}

void ReplayGuard::forget(const std::string& id) {
    auto it = ids_.find(id);
    if (it == ids_.end()) return;
    auto [first, last] = by_expiry_.equal_range(it->second);
    for (auto e = first; e != last; ++e)
        if (e->second == id) {
            by_expiry_.erase(e);
            break;
        }
    ids_.erase(it);
}

std::string dcmd_refusal(const CommandsConfig& config) {
    if (!config.enabled) return "commands are disabled (commands.enabled: false)";
    if (config.require_signature)
        return "commands.require_signature is set, and a Sparkplug DCMD carries no operator signature";
    return "";
}

std::string RateLimiter::admit(const std::string& device, std::int64_t now_ns) {
    auto [it, fresh] = buckets_.try_emplace(device, Bucket{burst_, now_ns});
    Bucket& b = it->second;
    if (!fresh && now_ns > b.last_ns) {
        b.tokens = std::min(burst_, b.tokens + rate_ * static_cast<double>(now_ns - b.last_ns) / 1e9);
        b.last_ns = now_ns;
    }
    if (b.tokens < 1) {
        char rate[32];
        std::snprintf(rate, sizeof rate, "%g", rate_);
        return "rate limit: device '" + device + "' takes at most " + rate + " commands per second";
    }
    b.tokens -= 1;
    return {};
}

namespace {
OperatorKeys load_keys(const CommandsConfig& config) {
    OperatorKeys keys;
    for (const std::string& f : config.operator_keys) keys.add(ed25519::Key::load_public(f));
    return keys;
}
}  // namespace

CommandProcessor::CommandProcessor(const CommandsConfig& config, std::string gateway_id)
    : CommandProcessor(config, std::move(gateway_id), load_keys(config)) {}

CommandProcessor::CommandProcessor(const CommandsConfig& config, std::string gateway_id, OperatorKeys keys)
    : config_(config),
      gateway_id_(std::move(gateway_id)),
      keys_(std::move(keys)),
      replay_(config.id_cache) {}

Refusal CommandProcessor::check_and_submit(const v1::Command& c, std::int64_t now_ns, const CommandTarget& target) {
    if (auto e = check_shape(c); !e.empty()) return {"malformed", e};
    if (auto e = keys_.check(c, config_.require_signature); !e.empty()) return {"signature", e};
    if (auto e = check_expiry(c.expires_ns(), now_ns, config_.max_lifetime_ms * 1'000'000); !e.empty())
        return {"expiry", e};
    if (auto e = replay_.check(c.id(), now_ns); !e.empty()) return {"replay", e};
    if (c.expires_ns() <= replay_fence_ns_)
        return {"replay", "the replay window of the previous run was lost; a command expiring before " +
                              std::to_string(replay_fence_ns_) + " ns could be a replay and is refused until then"};
    if (!target.admit) return {"unknown_device", "no port has a device '" + c.device() + "'"};
    if (Refusal r = target.admit(c.device(), now_ns); !r.passed()) return r;
    replay_.remember(c.id(), c.expires_ns());
    if (save_window_) {
        if (auto e = save_window_(replay_.ids()); !e.empty()) {
            replay_.forget(c.id());
            return {"journal", "cannot record the command id, so it could be replayed after a restart: " + e};
        }
    }
    if (!target.submit) return {"driver", "no writer"};
    return target.submit(c);
}

void CommandProcessor::restore_replay_window(const ReplayIds& ids, std::int64_t fence_ns) {
    for (const auto& [id, expires] : ids) replay_.remember(id, expires);
    replay_fence_ns_ = fence_ns;
}

Admission CommandProcessor::process(std::string_view payload, std::int64_t now_ns, const CommandTarget& target) {
    Admission a;
    v1::CommandResult& result = a.result;
    result.set_gateway_id(gateway_id_);
    result.set_time_ns(now_ns);
    if (auto e = decode_command(payload, a.command); !e.empty()) {
        a.command.Clear();  // a half-parsed message says nothing trustworthy
        result.set_status(v1::CommandResult::REFUSED);
        result.set_error(e);
        a.reason = "malformed";
        return a;
    }
    const v1::Command& c = a.command;
    // An id is echoed so that its sender can match the reply: a bounded one as it came, unless it holds
    // control characters (check_shape refuses it then), which are echoed and logged escaped.
    if (!c.id().empty() && c.id().size() <= kMaxCommandIdLength)
        result.set_id(holds_controls(c.id()) ? untrusted_text(c.id(), kMaxCommandIdLength) : c.id());
    Refusal refusal;
    try {
        refusal = check_and_submit(c, now_ns, target);
    } catch (const std::exception& e) {
        result.set_status(v1::CommandResult::FAILED);
        result.set_error(e.what());
        a.reason = "error";
        return a;
    }
    if (!refusal.passed()) {
        result.set_status(v1::CommandResult::REFUSED);
        result.set_error(refusal.error);
        a.reason = refusal.reason;
    }
    return a;
}

}  // namespace loopgate
