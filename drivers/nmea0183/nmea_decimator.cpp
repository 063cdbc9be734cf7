#include "drivers/nmea0183/nmea_decimator.hpp"

namespace loopgate::nmea {

namespace {
constexpr std::size_t max_tracked = 4096;
}  // namespace

bool Decimator::admit(const std::string& metric, SteadyTime now) {
    auto it = per_metric_.find(metric);
    const std::chrono::milliseconds interval = it == per_metric_.end() ? fallback_ : it->second;
    if (interval.count() <= 0) return true;  // no state kept for undecimated metrics
    // Metric names partly come off the wire (XDR names); a flood of new names must not grow memory.
    if (last_.size() >= max_tracked && !last_.count(metric)) last_.clear();
    auto [last, inserted] = last_.try_emplace(metric, now);
    if (inserted) return true;
    if (now - last->second < interval) {
        ++dropped_;
        return false;
    }
    last->second = now;
    return true;
}

}  // namespace loopgate::nmea
