#pragma once
// The one gate every reading passes on its way out of a driver, whichever driver made it.
//
// Drivers turn device bytes into readings; whatever the device sent, what leaves here is fit to
// publish and truthful about itself:
//   - every string (value, unit, metric, device, quality reason) is well-formed UTF-8 without control
//     characters (drivers/text/sanitize_text.hpp), because one ill-formed byte in a protobuf `string`
//     field makes conforming parsers refuse the whole batch;
//   - a double that is NaN or infinite (an overflowing scale, a float register holding NaN) is never
//     `good`: it goes out with quality `bad`, reason "not a finite number";
//   - at most `max_metrics` distinct device/metric names leave one port (a device's `online` verdict
//     aside): a talker that invents names (NMEA XDR transducers) would otherwise grow every map keyed
//     by name downstream — report state, live values, Sparkplug aliases — without end. Readings of
//     names beyond the limit are dropped and counted (`metrics_over_limit`), with one warning.
// The registry wraps every driver it builds, so the gateway, `loopgate decode` and `check-config`
// all see the same readings and the same counters.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <unordered_set>

#include "drivers/driver.hpp"

namespace loopgate {

struct GuardCounts {
    std::uint64_t text_replaced = 0;  // U+FFFD put in for ill-formed UTF-8 or control characters
    std::uint64_t non_finite = 0;     // double values that were NaN or infinite
};

inline constexpr const char* non_finite_reason = "not a finite number";

// Makes one reading fit to publish, as described above, and counts what it changed.
void guard_reading(Reading& reading, GuardCounts& counts);

// Admits readings of at most `limit` distinct device/metric names, first come first served; the
// `online` metric is not counted (it is one per configured device, and says whether it answers).
class NameLimit {
public:
    explicit NameLimit(std::size_t limit) : limit_(limit) {}
    // Whether a reading of this device and metric may pass; counts it when not.
    bool admit(const std::string& device, const std::string& metric);
    std::size_t size() const { return names_.size(); }
    std::uint64_t refused() const { return refused_; }

private:
    std::size_t limit_;
    std::unordered_set<std::string> names_;  // device, NUL, metric (a guarded name holds no NUL)
    std::uint64_t refused_ = 0;
};

// Wraps `inner` so that every reading it outputs passes guard_reading and the name limit; its
// counters gain `text_replaced`, `non_finite` and `metrics_over_limit`.
std::unique_ptr<Driver> guard_driver(std::unique_ptr<Driver> inner, std::size_t max_metrics = default_max_metrics);

}  // namespace loopgate
