#pragma once
// The latest reading of every device and metric, and how often each device delivers: what the status
// page's device and live-value panels show. Fed with every batch the ports hand up, so it is kept
// cheap: one map lookup per reading and a one-second bucket per device. Names come from devices, so
// what is kept is bounded (set_limit): a reading of a name beyond the limit is counted, not shown.

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/reading.hpp"

namespace loopgate {

struct DeviceActivity {
    std::int64_t last_reading_ns = 0;  // wall clock of the latest reading's arrival
    std::uint64_t readings = 0;
    // Readings per second of the last minute, indexed by second modulo 60; `seconds` says which second
    // each bucket holds, so stale buckets are not counted.
    std::array<std::uint32_t, 60> per_second{};
    std::array<std::int64_t, 60> seconds{};
};

class LiveValues {
public:
    void observe(const std::vector<Reading>& readings);
    // At most this many device/metric values (and as many devices) are kept; the page shows those.
    void set_limit(std::size_t max_metrics) { max_metrics_ = max_metrics; }
    std::size_t size() const { return values_; }
    // Readings not shown because their device or metric was new when the limit was reached.
    std::uint64_t untracked() const { return untracked_; }

    // device -> metric -> latest reading
    const std::map<std::string, std::map<std::string, Reading>>& latest() const { return latest_; }
    const std::map<std::string, DeviceActivity>& devices() const { return devices_; }
    // Readings of `device` in the minute before `now_ns`.
    static std::uint64_t last_minute(const DeviceActivity& activity, std::int64_t now_ns);

private:
    std::map<std::string, std::map<std::string, Reading>> latest_;
    std::map<std::string, DeviceActivity> devices_;
    std::size_t max_metrics_ = 100'000;
    std::size_t values_ = 0;
    std::uint64_t untracked_ = 0;
};

}  // namespace loopgate
