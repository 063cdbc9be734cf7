#pragma once
// The retained catalog `<prefix>/<gateway>/catalog` (native format): what a gateway serves, so that a
// consumer, or `loopgate find`, knows its ports, devices and metrics before any reading arrives.
//
// Pure: the running configuration, what the ports' drivers say, the metrics seen and the devices'
// online state go in, one JSON document comes out (README "Catalog"). The shell that publishes it
// is catalog_publisher.

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "core/reading.hpp"
#include "gateway/config.hpp"
#include "gateway/report/report_filter.hpp"

namespace loopgate {

// Bumped when a field changes meaning or goes away; added fields keep the number.
inline constexpr int kCatalogSchema = 1;

struct CatalogPort {
    const PortConfig* config = nullptr;          // as running: a reload replaces it
    std::vector<std::string> devices;            // the driver's configured devices
    std::map<std::string, DeviceReport> report;  // report_plan(port, driver): resolved per device and metric
};

struct CatalogSources {
    const Config* config = nullptr;              // gateway, uplink and commands sections (fixed until restart)
    std::string version;                         // LOOPGATE_VERSION
    std::uint64_t config_version = 0;            // the remote configuration's version; 0: the local file
    std::string config_sha256;                   // of the file running
    std::vector<CatalogPort> ports;
    // Latest reading per device and metric (LiveValues::latest): metrics drivers name themselves
    // (NMEA, M-Bus, AIS vessels) are listed once seen, and a seen value's type wins over the config's.
    const std::map<std::string, std::map<std::string, Reading>>* seen = nullptr;
    const std::map<std::string, bool>* online = nullptr;  // DevicePresence::online
};

std::string catalog_json(const CatalogSources& sources);

}  // namespace loopgate
