#pragma once
// The latest reading of every device and metric, and how often each device delivers: what the status
// page's device and live-value panels show. Fed with every batch the ports hand up, so it is kept
// cheap: one map lookup per reading and a one-second bucket per device.

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

    // device -> metric -> latest reading
    const std::map<std::string, std::map<std::string, Reading>>& latest() const { return latest_; }
    const std::map<std::string, DeviceActivity>& devices() const { return devices_; }
    // Readings of `device` in the minute before `now_ns`.
    static std::uint64_t last_minute(const DeviceActivity& activity, std::int64_t now_ns);

private:
    std::map<std::string, std::map<std::string, Reading>> latest_;
    std::map<std::string, DeviceActivity> devices_;
};

}  // namespace loopgate
