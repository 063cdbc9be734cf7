#include "drivers/modbus_rtu/modbus_driver.hpp"

#include <string>
#include <utility>

#include "drivers/modbus_rtu/modbus_master.hpp"
#include "drivers/modbus_rtu/modbus_monitor.hpp"
#include "drivers/modbus_rtu/point_map.hpp"
#include "drivers/modbus_rtu/rtu_frame.hpp"

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
    auto duration = [&](const char* key, std::int64_t def, std::int64_t lo, std::int64_t hi) {
        std::int64_t ms = s.millis(key, def);
        if (ms < lo || ms > hi)
            s.need(key).fail(std::string(key) + " must be between " + std::to_string(lo) + "ms and " + std::to_string(hi) + "ms");
        return milliseconds(ms);
    };
    out.master.response_timeout = duration("response_timeout", 500, 1, 60'000);
    out.master.turnaround_delay = duration("turnaround_delay", 100, 0, 60'000);
    out.master.retries = static_cast<int>(s.integer("retries", 0, 10, 1));
    out.master.max_gap = static_cast<std::uint16_t>(s.integer("max_gap", 0, kMaxReadRegisters - 1, 10));
    out.master.max_bit_gap = static_cast<std::uint16_t>(s.integer("max_bit_gap", 0, kMaxReadBits - 1, 64));
    out.master.offline_after = static_cast<int>(s.integer("offline_after", 1, 1000, 3));
    if (s["frame_gap"].present() && s["frame_gap"].as_string() != "auto")
        out.frame_gap = nanoseconds(duration("frame_gap", 0, 1, 1000));
    return out;
}

}  // namespace

std::unique_ptr<Driver> make_modbus_driver(const DriverSpec& spec) {
    if (!spec.settings.present() && !spec.devices.present())
        return make_modbus_monitor(rtu::timing(spec.port.baud, spec.port.bits_per_char(), std::nullopt), {});
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
    if (s.monitor) return make_modbus_monitor(timing, std::move(devices));
    return make_modbus_master(timing, s.master, std::move(devices));
}

}  // namespace loopgate
