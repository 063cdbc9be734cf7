#include "drivers/modbus_rtu/modbus_driver.hpp"

#include <string>
#include <utility>

#include "drivers/modbus/master_settings.hpp"
#include "drivers/modbus/modbus_master.hpp"
#include "drivers/modbus_rtu/modbus_monitor.hpp"
#include "drivers/modbus/point_map.hpp"
#include "drivers/modbus_rtu/rtu_frame.hpp"
#include "drivers/modbus_rtu/rtu_framing.hpp"

namespace loopgate {


namespace {

using namespace modbus;
using std::chrono::milliseconds;
using std::chrono::nanoseconds;

struct Settings {
    bool monitor = false;
    MasterSettings master;
    std::optional<nanoseconds> frame_gap;
};

Settings parse_settings(const ConfigNode& s) {
    s.allow_only({"mode", "response_timeout", "turnaround_delay", "retries", "max_gap", "max_bit_gap", "offline_after",
                  "frame_gap"});
    Settings out;
    out.monitor = s.choice("mode", {"master", "monitor"}, "master") == "monitor";
    out.master = parse_master_settings(s, milliseconds(500));
    if (s["frame_gap"].present() && s["frame_gap"].as_string() != "auto")
        out.frame_gap = nanoseconds(settings_duration(s, "frame_gap", 0, 1, 1000));
    return out;
}

}  // namespace

std::unique_ptr<Driver> make_modbus_driver(const DriverSpec& spec) {
    if (!spec.settings.present() && !spec.devices.present())
        return make_modbus_monitor({}, MasterSettings{}.response_timeout);
    Settings s;
    std::vector<Device> devices;
    ConfigErrors errors;  // the settings' problems and the devices' are reported together
    bool settings_ok = errors.check([&] { s = parse_settings(spec.settings); });
    errors.check([&] { devices = parse_devices(spec.devices); });
    errors.throw_if_any();
    if (settings_ok && !s.monitor && devices.empty()) {
        const char* what = "list at least one device for the master to poll (or set mode: monitor)";
        // An absent key's node cannot point at itself; the settings beside it can.
        if (spec.devices.present()) spec.devices.fail(what);
        spec.settings.fail(std::string("no devices: ") + what);
    }
    rtu::Timing timing = rtu::timing(spec.port.baud, spec.port.bits_per_char(), s.frame_gap);
    // A frame that never completes is given up after response_timeout of quiet, not after t3.5: a
    // device server's gaps mean nothing.
    if (s.monitor) return make_modbus_monitor(std::move(devices), s.master.response_timeout);
    // Fed a capture without on_open (the decode command), the master decodes it as the monitor would.
    auto passive = make_modbus_monitor(devices, s.master.response_timeout);
    return make_modbus_master(make_rtu_framing(timing), s.master, std::move(devices), std::move(passive));
}

}  // namespace loopgate
