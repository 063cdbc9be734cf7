#include "drivers/modbus_tcp/modbus_tcp_driver.hpp"

#include <utility>

#include "drivers/modbus/master_settings.hpp"
#include "drivers/modbus/modbus_master.hpp"
#include "drivers/modbus/point_map.hpp"
#include "drivers/modbus_tcp/mbap_frame.hpp"
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

std::string modbus_tcp_path(const ConfigNode& path) {
    const std::string text = path.as_string();
    const std::string scheme = "tcp://";
    const std::string hint = " (the modbus-tcp driver talks to a Modbus TCP server at tcp://host[:port], port " +
                             std::to_string(modbus::tcp::kDefaultPort) +
                             " if none; for Modbus RTU behind a device server use driver: modbus-rtu)";
    if (text.rfind(scheme, 0) != 0) path.fail("expected tcp://host[:port], got '" + text + "'" + hint);
    std::string authority = text.substr(scheme.size());
    if (authority.empty() || authority.find('/') != std::string::npos)
        path.fail("expected tcp://host[:port], got '" + text + "'" + hint);
    // A port follows the last colon, unless that colon is inside an IPv6 literal's brackets.
    const std::size_t colon = authority.rfind(':');
    const std::size_t bracket = authority.rfind(']');
    const bool has_port = colon != std::string::npos && (bracket == std::string::npos || colon > bracket);
    if (authority.front() != '[' && authority.find(':') != authority.rfind(':'))
        path.fail("an IPv6 address needs brackets: tcp://[" + authority + "]:" + std::to_string(modbus::tcp::kDefaultPort));
    if (!has_port) return text + ":" + std::to_string(modbus::tcp::kDefaultPort);
    const std::string port = authority.substr(colon + 1);
    const bool digits = !port.empty() && port.size() <= 5 && port.find_first_not_of("0123456789") == std::string::npos;
    if (!digits || std::stol(port) < 1 || std::stol(port) > 65535 || colon == 0)
        path.fail("expected tcp://host[:port] with a port from 1 to 65535, got '" + text + "'");
    return text;
}

}  // namespace loopgate
