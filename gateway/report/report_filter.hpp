#pragma once
// Report by exception, as a pure function of readings and time: no I/O, no clock of its own (the
// report stage, gateway/report/report_stage.hpp, gives it both). Decides per device and metric
// whether a reading is published, holds throttled ones, makes heartbeats, and says when a device
// that keeps silent is offline.
//
// Rules, per (device, metric) with its resolved ReportPolicy:
//  - the first reading, any whose quality or quality reason differs from the last reported one, and
//    any marked always_report (a write's read-back) is reported at once (a throttle never delays it); readings of bad or uncertain quality are not
//    filtered; neither is a device's `online` metric;
//  - a good reading is significant when it differs from the last reported value (on_change), moved
//    at least the deadband (absolute, or a percentage of the last reported value's magnitude; of a
//    zero, any change), or when max_silence has passed since the last report; others are dropped;
//  - a significant reading that comes within min_interval of the last report waits for the interval
//    to end; a later reading replaces it (the latest value wins);
//  - after max_silence without a report, the latest reading is reported again: its value and source
//    time (its receive time when it had none), a fresh receive time (a heartbeat);
//  - a device with offline_after_silence that sends nothing for that long gets an `online: false`
//    reading; its next reading is preceded by `online: true` and all its metrics report afresh.

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/reading.hpp"
#include "core/report_policy.hpp"

namespace loopgate {

// What the filter applies to one device: a policy for its metrics (with per-metric exceptions) and
// its liveness timeout.
struct DeviceReport {
    ReportPolicy policy;                           // for metrics without an entry below
    std::map<std::string, ReportPolicy> metrics;   // already merged with `policy` and broader levels
    std::optional<std::int64_t> offline_after_silence_ms;
};

struct ReportCounts {
    std::uint64_t passed = 0;      // readings reported as they came
    std::uint64_t suppressed = 0;  // dropped: not significant
    std::uint64_t throttled = 0;   // held for min_interval (reported later unless replaced)
    std::uint64_t replaced = 0;    // held ones replaced by a later reading before their turn
    std::uint64_t heartbeats = 0;  // reported again after max_silence
    std::uint64_t offline = 0;     // online:false readings made for silent devices
    std::uint64_t untracked = 0;   // passed unfiltered: their metric was beyond the names kept (set_limit)
};

class ReportFilter {
public:
    using Steady = std::chrono::steady_clock::time_point;

    // Replaces the plan: devices not in it pass untouched. State already built is kept (a reload does
    // not make every metric report afresh); it takes the new policies from now on. `now` starts the
    // silence of devices that have not sent anything yet.
    void configure(std::map<std::string, DeviceReport> plan, Steady now);

    // Filters `readings` in place (the ones to publish, in order, with heartbeats and online changes
    // inserted where they belong).
    void submit(std::vector<Reading>& readings, Steady now);
    // The time-driven part: throttled readings whose turn has come, heartbeats, offline devices.
    void on_timer(Steady now, std::int64_t wall_now_ns, std::vector<Reading>& out);
    // When on_timer() has something to do next; none when nothing is waiting.
    std::optional<Steady> next_due() const;
    // The earliest time the last submit() made due (a held reading, a heartbeat, a silence), cleared
    // by taking it: lets the stage arm its timer without scanning every metric per reading.
    std::optional<Steady> take_due_hint() { return std::exchange(hint_, std::nullopt); }

    // At most this many device/metric names get state (names come from devices, and the ports' guard
    // bounds them; this bounds the filter whatever reaches it). Readings of further names pass as
    // they came and are counted as untracked. Lowering it forgets nothing already kept.
    void set_limit(std::size_t max_metrics) { max_metrics_ = max_metrics; }
    std::size_t tracked() const { return tracked_; }

    bool active() const { return !plan_.empty(); }
    const ReportCounts& counts() const { return counts_; }

private:
    struct MetricState {
        const ReportPolicy* policy = nullptr;
        bool reported = false;
        Quality quality = Quality::good;
        std::string reason;
        Value last_value;
        Steady last_report{};
        std::optional<Reading> latest;   // the newest good reading seen, reported or not
        std::optional<Reading> held;     // throttled, waiting for last_report + min_interval
    };
    struct DeviceState {
        const DeviceReport* report = nullptr;
        std::unordered_map<std::string, MetricState> metrics;
        Steady last_seen{};
        std::optional<bool> online;      // what the filter last said (only with offline_after_silence)
    };

    DeviceState* device_state(const std::string& device, Steady now);
    MetricState* metric_state(DeviceState& d, const std::string& metric);  // null beyond the limit
    bool significant(const MetricState& s, const Reading& r, Steady now) const;
    void report(MetricState& s, const Reading& r, Steady now, std::vector<Reading>& out);
    static Reading online_reading(const std::string& device, bool online, std::int64_t wall_ns);

    std::map<std::string, DeviceReport> plan_;
    std::unordered_map<std::string, DeviceState> devices_;
    ReportCounts counts_;
    std::size_t max_metrics_ = 100'000;
    std::size_t tracked_ = 0;  // metric states over all devices
    std::optional<Steady> hint_;
    void hint(Steady t) {
        if (!hint_ || t < *hint_) hint_ = t;
    }
};

}  // namespace loopgate
