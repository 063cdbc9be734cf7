#include "drivers/modbus_tcp/modbus_tcp_driver.hpp"

#include <utility>

#include "drivers/modbus/master_settings.hpp"
#include "drivers/modbus/modbus_master.hpp"
#include "drivers/modbus/point_map.hpp"
#include "drivers/modbus_tcp/tcp_framing.hpp"

namespace loopgate {

namespace {

// Servers queue few requests per connection (many answer one at a time); more than this only
// turns into timeouts.
constexpr std::int64_t kMaxInFlight = 16;

}  // namespace

std::unique_ptr<Driver> make_modbus_tcp_driver(const DriverSpec& spec) {
    using namespace modbus;
    MasterSettings master;
    std::size_t max_in_flight = 1;
    std::vector<Device> devices;
    ConfigErrors errors;  // the settings' problems and the devices' are reported together
    errors.check([&] {
        const ConfigNode& s = spec.settings;
        s.allow_only({"response_timeout", "retries", "max_gap", "max_bit_gap", "offline_after", "max_in_flight"});
        // A network hop, and often a TCP-to-RTU gateway with its serial line behind it: more than a bus's 500 ms.
        master = parse_master_settings(s, std::chrono::milliseconds(1000));
        max_in_flight = static_cast<std::size_t>(s.integer("max_in_flight", 1, kMaxInFlight, 1));
    });
    errors.check([&] { devices = parse_devices(spec.devices, kTcpUnits); });
    errors.throw_if_any();
    if (devices.empty()) {
        const char* what = "list at least one device (its unit id) for the modbus-tcp driver to poll";
        if (spec.devices.present()) spec.devices.fail(what);
        spec.settings.fail(std::string("no devices: ") + what);
    }
    return make_modbus_master(make_tcp_framing(max_in_flight), master, std::move(devices), nullptr);
}

}  // namespace loopgate
