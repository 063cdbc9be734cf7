#pragma once
// The `mbus` driver's settings and devices, parsed from the port's config nodes with precise errors.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "drivers/driver.hpp"
#include "drivers/mbus/mbus_record.hpp"

namespace loopgate::mbus {

// A record picked by `points:`: by VIF name (the metric before any suffix), storage, tariff,
// subunit and function; `name` renames it.
struct PointSelect {
    std::string vif;
    std::uint64_t storage = 0;
    std::uint32_t tariff = 0;
    std::uint32_t subunit = 0;
    Function function = Function::instantaneous;
    std::string name;
};

struct DeviceConfig {
    std::string name;                   // "" = mbus-<identification number> from its answers
    std::optional<std::uint8_t> address;  // primary address 0-250
    std::string secondary;              // 8-digit identification number (secondary addressing)
    std::chrono::milliseconds poll_interval{std::chrono::minutes(15)};
    int max_telegrams = 8;              // of a multi-telegram answer (DIF 1Fh), per poll
    std::vector<PointSelect> points;    // empty: every record
};

struct Settings {
    std::chrono::milliseconds response_timeout{0};  // 0: the standard's 330 bit times + 50 ms, plus slack
    std::chrono::milliseconds idle_gap{0};          // 0: 11 bit times, EN 13757-2's minimum
    int retries = 2;
    int offline_after = 3;
};

// The standard's timing at this line's speed.
struct BusTiming {
    std::chrono::nanoseconds bit{};
    std::chrono::nanoseconds char_time{};       // 11 bits: start, 8 data, even parity, stop
    std::chrono::nanoseconds response_window{}; // 330 bit times + 50 ms: the latest a slave may start answering
    std::chrono::nanoseconds idle_gap{};        // silence before the master speaks
    std::chrono::nanoseconds response_timeout{};
    std::chrono::nanoseconds frame_silence{};   // a pause this long inside an answer ends it (truncated)
};
BusTiming bus_timing(const PortInfo& port, const Settings& s);

// The worst-case bus time of one readout of a device (SND_NKE or selection, then max_telegrams
// telegrams of 261 bytes, each waited for in full): the shortest poll_interval allowed.
std::chrono::milliseconds min_poll_interval(const BusTiming& t, int max_telegrams, int retries);

Settings parse_settings(const ConfigNode& settings, const PortInfo& port);
std::vector<DeviceConfig> parse_devices(const ConfigNode& devices, const Settings& s, const PortInfo& port);

}  // namespace loopgate::mbus
