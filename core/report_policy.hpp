#pragma once
// Report by exception: when a reading is worth publishing. The policy is configured at four levels
// (a Modbus point, `ports[].report.metrics.<name>`, `devices[].report`, `ports[].report`); every
// setting a level leaves out is taken from the next, broader one. The filter that applies it is the
// gateway's report stage (gateway/report/), one implementation for every driver.

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "core/config_node.hpp"

namespace loopgate {

struct Deadband {
    double amount = 0;     // absolute, in the reading's unit, or a percentage
    bool percent = false;  // of the last reported value's magnitude
};

struct ReportPolicy {
    std::optional<Deadband> deadband;            // report only a move of at least this much
    std::optional<bool> on_change;               // report only a value that differs from the last
    std::optional<std::int64_t> max_silence_ms;  // heartbeat: report again after this long without a report
    std::optional<std::int64_t> min_interval_ms; // throttle: at most one report per interval, latest wins

    // This policy, with what it leaves out taken from `broader`.
    ReportPolicy over(const ReportPolicy& broader) const;
    // Whether any setting is made (an empty policy passes every reading untouched).
    bool any() const { return deadband || on_change.value_or(false) || max_silence_ms || min_interval_ms; }
    // Whether nothing at all is said (not even on_change: false, which overrides a broader true).
    bool empty() const { return !deadband && !on_change && !max_silence_ms && !min_interval_ms; }
};

// The keys a `report:` map may hold besides `metrics` (ports only).
inline constexpr const char* kReportKeys[] = {"deadband", "on_change", "max_silence", "min_interval"};

// Reads deadband, on_change, max_silence and min_interval from `n` (other keys are the caller's to
// allow or refuse). A deadband is a non-negative number or a percentage such as "2%".
ReportPolicy parse_report_policy(const ConfigNode& n);
// The entries of a port's `report.metrics` map: metric name and its settings, in file order.
std::vector<std::pair<std::string, ConfigNode>> report_metrics(const ConfigNode& report);
Deadband parse_deadband(const ConfigNode& n);

}  // namespace loopgate
