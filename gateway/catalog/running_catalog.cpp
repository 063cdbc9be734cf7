#include "gateway/catalog/running_catalog.hpp"

#include <algorithm>

#include "gateway/catalog/catalog.hpp"
#include "gateway/report/report_plan.hpp"

namespace loopgate {

std::string running_catalog(const Config& config, std::list<PortSlot>& ports, const LiveValues& live,
                            const DevicePresence& presence, std::uint64_t config_version, const std::string& config_sha256) {
    CatalogSources s;
    s.config = &config;
    s.version = LOOPGATE_VERSION;
    s.config_version = config_version;
    s.config_sha256 = config_sha256;
    s.seen = &live.latest();
    s.online = &presence.online();
    for (PortSlot& slot : ports) {
        Driver& driver = slot.session->driver();
        CatalogPort p;
        p.config = slot.config.get();
        p.devices = driver.device_names();
        // Devices the driver makes up but answers for (one per vessel...) are the port's too.
        for (const auto& [device, metrics] : live.latest())
            if (std::find(p.devices.begin(), p.devices.end(), device) == p.devices.end() && driver.has_device(device))
                p.devices.push_back(device);
        p.report = report_plan(*slot.config, driver);
        s.ports.push_back(std::move(p));
    }
    return catalog_json(s);
}

}  // namespace loopgate
