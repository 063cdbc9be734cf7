#pragma once
// Which port owns a device: the one routing rule shared by native commands and Sparkplug DCMD.

#include <list>
#include <string>

#include "drivers/driver.hpp"
#include "gateway/serial/port_session.hpp"

namespace loopgate {

class DeviceRouter {
public:
    // The gateway's running ports; a reload replaces slots in this list, so routing always sees the
    // current ones.
    explicit DeviceRouter(std::list<PortSlot>& ports) : ports_(ports) {}

    // The session whose driver has `device`, or nullptr.
    PortSession* find(const std::string& device) const;

private:
    std::list<PortSlot>& ports_;
};

}  // namespace loopgate
