#include "gateway/downlink/device_router.hpp"

namespace loopgate {

PortSession* DeviceRouter::find(const std::string& device) const {
    for (auto& slot : ports_)
        if (slot.session->driver().has_device(device)) return slot.session.get();
    return nullptr;
}

}  // namespace loopgate
