#pragma once
// The one gate every reading passes on its way out of a driver, whichever driver made it.
//
// Drivers turn device bytes into readings; whatever the device sent, what leaves here is fit to
// publish and truthful about itself:
//   - every string (value, unit, metric, device, quality reason) is well-formed UTF-8 without control
//     characters (drivers/text/sanitize_text.hpp), because one ill-formed byte in a protobuf `string`
//     field makes conforming parsers refuse the whole batch;
//   - a double that is NaN or infinite (an overflowing scale, a float register holding NaN) is never
//     `good`: it goes out with quality `bad`, reason "not a finite number".
// The registry wraps every driver it builds, so the gateway, `loopgate decode` and `check-config`
// all see the same readings and the same counters.

#include <cstdint>
#include <memory>

#include "drivers/driver.hpp"

namespace loopgate {

struct GuardCounts {
    std::uint64_t text_replaced = 0;  // U+FFFD put in for ill-formed UTF-8 or control characters
    std::uint64_t non_finite = 0;     // double values that were NaN or infinite
};

inline constexpr const char* non_finite_reason = "not a finite number";

// Makes one reading fit to publish, as described above, and counts what it changed.
void guard_reading(Reading& reading, GuardCounts& counts);

// Wraps `inner` so that every reading it outputs passes guard_reading; its counters gain
// `text_replaced` and `non_finite`.
std::unique_ptr<Driver> guard_driver(std::unique_ptr<Driver> inner);

}  // namespace loopgate
