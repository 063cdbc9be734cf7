#include "gateway/ops/device_presence.hpp"

#include <variant>

namespace loopgate {

void DevicePresence::observe(const std::vector<Reading>& readings) {
    for (const Reading& r : readings)
        if (r.metric == "online" && std::holds_alternative<bool>(r.value)) online_[r.device] = std::get<bool>(r.value);
}

}  // namespace loopgate
