#include "drivers/registry.hpp"

#include <map>

#include "drivers/line/line_driver.hpp"
#include "drivers/mbus/mbus_driver.hpp"
#include "drivers/modbus_rtu/modbus_driver.hpp"
#include "drivers/modbus_tcp/modbus_tcp_driver.hpp"
#include "drivers/nmea0183/nmea_driver.hpp"
#include "drivers/reading_guard.hpp"

namespace loopgate {

namespace {

// The one place drivers are registered: adding a driver adds its line here.
const std::map<std::string, DriverFactory>& registry() {
    static const std::map<std::string, DriverFactory> drivers = {
        {"line", make_line_driver},
        {"mbus", make_mbus_driver},
        {"modbus-rtu", make_modbus_driver},
        {"modbus-tcp", make_modbus_tcp_driver},
        {"nmea0183", make_nmea_driver},
    };
    return drivers;
}

}  // namespace

std::vector<std::string> driver_names() {
    std::vector<std::string> names;
    for (const auto& [name, factory] : registry()) names.push_back(name);
    return names;
}

std::unique_ptr<Driver> make_driver(const ConfigNode& name_node, const DriverSpec& spec) {
    std::string name = name_node.as_string();
    auto it = registry().find(name);
    if (it == registry().end()) {
        std::string known;
        for (const auto& n : driver_names()) known += (known.empty() ? "" : ", ") + n;
        name_node.fail("unknown driver '" + name + "'" + did_you_mean(name, driver_names()) + "; known drivers: " + known);
    }
    // Whatever a device sends, what leaves a driver is fit to publish: see reading_guard.hpp.
    return guard_driver(it->second(spec), spec.port.max_metrics);
}

}  // namespace loopgate
