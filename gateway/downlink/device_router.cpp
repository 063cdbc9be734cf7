#include "gateway/downlink/device_router.hpp"

namespace loopgate {

PortSession* DeviceRouter::find(const std::string& device) const {
    for (auto& slot : ports_)
        if (slot.session->driver().has_device(device)) return slot.session.get();
    return nullptr;
}

WriteResult DeviceRouter::write(const std::string& device, const std::string& point, const Value& value) const {
    PortSession* session = find(device);
    if (!session) return WriteResult{false, "no port has a device '" + device + "'"};
    WriteResult result;
    session->with_driver([&](Driver& d, DriverOutput&) { result = d.write_point(device, point, value); });
    return result;
}

}  // namespace loopgate
