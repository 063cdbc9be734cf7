#pragma once
// Per-metric minimum interval between published readings, on the steady time the session passes in,
// so a 10 Hz receiver can be thinned to what the uplink needs.

#include <chrono>
#include <cstdint>
#include <map>
#include <string>

#include "drivers/driver.hpp"

namespace loopgate::nmea {

class Decimator {
public:
    Decimator() = default;
    Decimator(std::map<std::string, std::chrono::milliseconds> per_metric, std::chrono::milliseconds fallback)
        : per_metric_(std::move(per_metric)), fallback_(fallback) {}

    // True when a reading of `metric` at `now` should be published (and remembers that it was).
    bool admit(const std::string& metric, SteadyTime now);
    std::uint64_t dropped() const { return dropped_; }

private:
    std::map<std::string, std::chrono::milliseconds> per_metric_;
    std::chrono::milliseconds fallback_{0};
    std::map<std::string, SteadyTime> last_;
    std::uint64_t dropped_ = 0;
};

}  // namespace loopgate::nmea
