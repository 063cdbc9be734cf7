#pragma once
// Which devices answer: drivers that poll report it as a boolean `online` reading, and the metrics
// endpoint shows the latest one per device (loopgate_device_online).

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

private:
    std::map<std::string, bool> online_;
};

}  // namespace loopgate
