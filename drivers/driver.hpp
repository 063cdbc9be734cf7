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

// A write a command asked for (gateway/downlink/). `id` is the session's, echoed in the completion.
struct WriteRequest {
    std::uint64_t id = 0;
    std::string device;
    std::string point;
    Value value;
    bool verify = false;  // read the point back after the write; a different value fails the write
};

enum class WriteOutcome {
    ok,                // the device confirmed the write (and, with verify, holds the value written)
    device_exception,  // the device answered with an exception (exception_code)
    timeout,           // no valid answer after the driver's retries
    line_closed,       // the line closed while the write was waiting or on the wire
    port_closed,       // the port was not open when the write was submitted (set by the session)
    verify_mismatch,   // answered, but the device holds another value (its echo, or the read-back)
};

// Stable snake_case names: log lines and counter labels.
inline const char* write_outcome_name(WriteOutcome o) {
    switch (o) {
        case WriteOutcome::ok: return "ok";
        case WriteOutcome::device_exception: return "device_exception";
        case WriteOutcome::timeout: return "timeout";
        case WriteOutcome::line_closed: return "line_closed";
        case WriteOutcome::port_closed: return "port_closed";
        case WriteOutcome::verify_mismatch: return "verify_mismatch";
    }
    return "unknown";
}

// How a write ended, reported once per accepted WriteRequest through DriverOutput::completions.
struct WriteCompletion {
    std::uint64_t id = 0;
    WriteOutcome outcome = WriteOutcome::ok;
    std::string error;                 // why, when not ok (exception name, "read back 3, wrote 5"...)
    int exception_code = 0;            // the device's exception code (device_exception)
    std::optional<Value> echoed;       // the value the device's answer confirms
    std::optional<Value> read_back;    // what the point holds after the write (verify)
    std::int64_t device_time_ns = 0;   // wall clock when the device's (last) answer arrived; 0: none
};

struct DriverOutput {
    std::vector<Reading> readings;
    std::vector<std::uint8_t> to_write;      // bytes the session writes to the line, in order
    std::optional<SteadyTime> wake_at;       // earliest time the driver wants on_timer(); none = no timer
    std::vector<WriteCompletion> completions;  // writes that ended, in any order
    // Something the operator should hear about (the port session logs each as a warning, naming the
    // port). A driver says a thing once, not once per reading.
    std::vector<std::string> warnings;
};

// Named counters a driver keeps (frames good/bad, overlong lines, timeouts...). Exposed in status and
// metrics; names are snake_case and stable.
using Counters = std::map<std::string, std::uint64_t>;

// Whether a write was taken (it completes later through DriverOutput::completions) or refused now.
struct WriteResult {
    bool accepted = false;
    std::string error;        // why not, when !accepted
    bool queue_full = false;  // refused only because the port's write queue is full: try again later
};

// A report-by-exception policy a driver's own config sets for one metric (a Modbus point's deadband).
struct MetricPolicy {
    std::string device;
    std::string metric;
    ReportPolicy policy;
};

// Distinct device/metric names a port may publish unless `ports[].max_metrics` says otherwise: far
// above what a configured device has (a meter's points, a receiver's sentences), far below what
// costs memory.
inline constexpr std::size_t default_max_metrics = 1000;

// What a driver learns about its line at construction.
struct PortInfo {
    std::string name;   // the port's configured name
    unsigned baud = 9600;
    unsigned data_bits = 8;
    bool parity = false;
    double stop_bits = 1;
    // Distinct device/metric names the port's readings may carry (`ports[].max_metrics`): the guard
    // (drivers/reading_guard.hpp) drops readings of names beyond it, since a device can invent names.
    std::size_t max_metrics = default_max_metrics;
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

    // The line closed (adapter unplugged, read error, stop). Drivers drop partial frames here and
    // complete every write they hold with line_closed: none may be left waiting for a reopen.
    virtual void on_close(DriverOutput& /*out*/) {}

    // A write requested by a command. An accepted write is reported exactly once, later, through
    // DriverOutput::completions (or in `out` at once); the driver may already put its bytes in `out`
    // so the write leaves as soon as the line allows. Drivers that cannot write refuse.
    virtual WriteResult write_point(const WriteRequest& /*request*/, const DriverClock& /*now*/,
                                    DriverOutput& /*out*/) {
        return {false, "this driver does not support writes", false};
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
