#include "core/report_policy.hpp"

#include <cmath>
#include <string>

namespace loopgate {

ReportPolicy ReportPolicy::over(const ReportPolicy& broader) const {
    ReportPolicy out = *this;
    if (!out.deadband) out.deadband = broader.deadband;
    if (!out.on_change) out.on_change = broader.on_change;
    if (!out.max_silence_ms) out.max_silence_ms = broader.max_silence_ms;
    if (!out.min_interval_ms) out.min_interval_ms = broader.min_interval_ms;
    return out;
}

Deadband parse_deadband(const ConfigNode& n) {
    Deadband d;
    std::string text = n.as_string();
    if (!text.empty() && text.back() == '%') {
        d.percent = true;
        std::string number = text.substr(0, text.size() - 1);
        std::size_t used = 0;
        try {
            d.amount = std::stod(number, &used);
        } catch (const std::exception&) {
            used = 0;
        }
        if (number.empty() || used != number.size())
            n.fail("expected a deadband such as 0.5 or \"2%\", got '" + text + "'");
    } else {
        d.amount = n.as_double();
    }
    if (!std::isfinite(d.amount) || d.amount < 0) n.fail("a deadband must be a finite number, not negative");
    if (d.percent && d.amount > 1000) n.fail("a percentage deadband above 1000% never reports a change");
    return d;
}

ReportPolicy parse_report_policy(const ConfigNode& n) {
    ReportPolicy p;
    if (n["deadband"].present()) p.deadband = parse_deadband(n["deadband"]);
    if (n["on_change"].present()) p.on_change = n["on_change"].as_bool();
    if (n["max_silence"].present()) {
        p.max_silence_ms = n["max_silence"].as_millis();
        if (*p.max_silence_ms < 100) n["max_silence"].fail("max_silence must be at least 100ms");
    }
    if (n["min_interval"].present()) {
        p.min_interval_ms = n["min_interval"].as_millis();
        if (*p.min_interval_ms < 1) n["min_interval"].fail("min_interval must be at least 1ms");
    }
    if (p.max_silence_ms && p.min_interval_ms && *p.min_interval_ms > *p.max_silence_ms)
        n["min_interval"].fail("min_interval is longer than max_silence: the heartbeat could never be sent on time");
    return p;
}

std::vector<std::pair<std::string, ConfigNode>> report_metrics(const ConfigNode& report) {
    std::vector<std::pair<std::string, ConfigNode>> out;
    ConfigNode metrics = report["metrics"];
    if (!metrics.present()) return out;
    if (!metrics.is_map()) metrics.fail("expected a map of metric names to report settings");
    for (const auto& entry : metrics.yaml()) {
        auto name = entry.first.as<std::string>();
        out.emplace_back(name, metrics[name]);
    }
    return out;
}

}  // namespace loopgate
