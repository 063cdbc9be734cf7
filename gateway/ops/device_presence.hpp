#pragma once
// Which devices answer: drivers that poll report it as a boolean `online` reading, and the metrics
// endpoint shows the latest one per device (loopgate_device_online).

#include <cstddef>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/reading.hpp"

namespace loopgate {

class DevicePresence {
public:
    // Called with every batch of readings the ports hand up, before the bridge takes them.
    void observe(const std::vector<Reading>& readings);

    // Device name -> online; devices whose driver never reported stay absent rather than offline.
    const std::map<std::string, bool>& online() const { return online_; }
    // At most this many devices are kept (names come from drivers); verdicts of further ones are counted.
    void set_limit(std::size_t max_devices) { max_devices_ = max_devices; }
    std::uint64_t untracked() const { return untracked_; }

private:
    std::map<std::string, bool> online_;
    std::size_t max_devices_ = 100'000;
    std::uint64_t untracked_ = 0;
};

}  // namespace loopgate
