#include "gateway/ops/device_presence.hpp"

#include <variant>

namespace loopgate {

void DevicePresence::observe(const std::vector<Reading>& readings) {
    for (const Reading& r : readings) {
        if (r.metric != "online" || !std::holds_alternative<bool>(r.value)) continue;
        auto it = online_.find(r.device);
        if (it != online_.end()) it->second = std::get<bool>(r.value);
        else if (online_.size() < max_devices_) online_.emplace(r.device, std::get<bool>(r.value));
        else ++untracked_;
    }
}

}  // namespace loopgate
