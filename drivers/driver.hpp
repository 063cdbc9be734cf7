#pragma once
// The one narrow interface every driver implements.
//
// A driver owns no I/O and reads no clock: the port session hands it the bytes that arrived and the
// current time, and the driver answers with readings, bytes to put on the line, and when it wants to
// be woken up again (poll-based masters such as Modbus use that; listeners such as NMEA ignore it).
// That keeps every driver testable with plain byte arrays and fake time.

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "core/config_node.hpp"
#include "core/reading.hpp"
#include "core/report_policy.hpp"

namespace loopgate {

using SteadyTime = std::chrono::steady_clock::time_point;

struct DriverClock {
    SteadyTime steady;        // for timeouts and poll schedules
    std::int64_t wall_ns = 0; // receive timestamp for readings
};

struct DriverOutput {
    std::vector<Reading> readings;
    std::vector<std::uint8_t> to_write;      // bytes the session writes to the line, in order
    std::optional<SteadyTime> wake_at;       // earliest time the driver wants on_timer(); none = no timer
};

// Named counters a driver keeps (frames good/bad, overlong lines, timeouts...). Exposed in status and
// metrics; names are snake_case and stable.
using Counters = std::map<std::string, std::uint64_t>;

// Result of a write requested through the command path.
struct WriteResult {
    bool accepted = false;
    std::string error;  // why not, when !accepted
};

// A report-by-exception policy a driver's own config sets for one metric (a Modbus point's deadband).
struct MetricPolicy {
    std::string device;
    std::string metric;
    ReportPolicy policy;
};

// What a driver learns about its line at construction.
struct PortInfo {
    std::string name;   // the port's configured name
    unsigned baud = 9600;
    unsigned data_bits = 8;
    bool parity = false;
    double stop_bits = 1;
    // Bits per character on the wire (start + data + parity + stop), for timing rules.
    double bits_per_char() const { return 1 + data_bits + (parity ? 1 : 0) + stop_bits; }
};

class Driver {
public:
    virtual ~Driver() = default;

    // Called once when the line is open (and again after each reopen).
    virtual void on_open(const DriverClock& /*now*/, DriverOutput& /*out*/) {}

    // Bytes arrived from the line.
    virtual void on_bytes(std::span<const std::uint8_t> bytes, const DriverClock& now, DriverOutput& out) = 0;

    // The time asked for in wake_at has come.
    virtual void on_timer(const DriverClock& /*now*/, DriverOutput& /*out*/) {}

    // The line closed (adapter unplugged, read error). Drivers drop partial frames here.
    virtual void on_close() {}

    // A write requested by a command. Drivers that cannot write refuse.
    virtual WriteResult write_point(const std::string& /*device*/, const std::string& /*point*/,
                                    const Value& /*value*/) {
        return {false, "this driver does not support writes"};
    }

    // Whether this driver serves `device` (commands are routed to the port whose driver says yes).
    virtual bool has_device(const std::string& /*device*/) const { return false; }

    // The devices whose readings this driver makes (for the report stage's per-device settings).
    virtual std::vector<std::string> device_names() const = 0;
    // Report-by-exception settings made in the driver's own config (a Modbus point's deadband); the
    // report stage (gateway/report/) applies them, with the port's and devices' settings around them.
    virtual std::vector<MetricPolicy> report_policies() const { return {}; }

    virtual Counters counters() const = 0;
};

// What a driver factory is given: the port's line settings, its `settings` map and its `devices`
// list, both still as strict config nodes so the driver reports errors with file, line and column.
struct DriverSpec {
    PortInfo port;
    ConfigNode settings;  // may be an absent (null) node when the port has no settings
    ConfigNode devices;   // a sequence
};

using DriverFactory = std::function<std::unique_ptr<Driver>(const DriverSpec&)>;

}  // namespace loopgate
